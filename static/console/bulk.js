// The bulk action form: only the options of the chosen action are shown (without JavaScript, all are).
function showOptions(form) {
  const action = form.querySelector("select[name=action]")?.value;
  form.querySelectorAll("[data-bulk-options]").forEach((set) => {
    const mine = set.dataset.bulkOptions.split(" ").includes(action);
    set.hidden = !mine;
    set.disabled = !mine;
  });
}
document.addEventListener("change", (event) => {
  const form = event.target.closest("[data-bulk-form]");
  if (form && event.target.name === "action") showOptions(form);
});
document.querySelectorAll("[data-bulk-form]").forEach(showOptions);
