// Small behaviours htmx does not cover. No inline scripts anywhere (CSP).
document.addEventListener("click", (event) => {
  const close = event.target.closest("[data-dismiss]");
  if (close) close.closest(".flash")?.remove();
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const source = document.getElementById(copy.dataset.copy);
    navigator.clipboard?.writeText(source.value || source.textContent).then(() => {
      copy.textContent = "Copied";
      setTimeout(() => (copy.textContent = "Copy"), 1500);
    });
  }
  const back = event.target.closest("[data-back]");
  if (back) { event.preventDefault(); history.back(); }
});

// A network failure of an htmx request: say so where the user looks.
document.addEventListener("htmx:sendError", () => {
  const flash = document.getElementById("flash");
  if (!flash) return;
  const div = document.createElement("div");
  div.className = "flash flash-error";
  div.setAttribute("role", "alert");
  div.textContent = "The console could not be reached. Check your connection and try again.";
  flash.append(div);
});

// Confirmation by typing a name: the submit button stays off until it matches.
document.addEventListener("input", (event) => {
  const input = event.target.closest("[data-confirm-value]");
  if (!input) return;
  const button = input.form?.querySelector("[data-confirm-submit]");
  if (button) button.disabled = input.value !== input.dataset.confirmValue;
});
