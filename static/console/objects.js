// The object list: select all rows, the selection buttons. No inline scripts (CSP).
document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-select-all]");
  if (!all) return;
  const table = all.closest("table");
  const name = all.dataset.selectAll;
  table.querySelectorAll(`tbody input[type=checkbox][name="${name}"]`).forEach((box) => {
    box.checked = all.checked;
  });
});

// The "Selected objects" buttons stay off until an object is ticked, and say how many are.
// (Without JavaScript they stay on and the server answers "Select at least one object".)
function updateSelection() {
  const form = document.getElementById("object-actions");
  if (!form) return;
  const ticked = document.querySelectorAll('input[type=checkbox][name="key"][form="object-actions"]:checked').length;
  form.querySelectorAll("[data-needs-selection]").forEach((button) => {
    button.disabled = ticked === 0;
    button.title = ticked === 0 ? "Tick objects in the list first" : "";
  });
  const count = form.querySelector("[data-selection-count]");
  if (count) count.textContent = ticked ? `${ticked} selected:` : "Selected objects:";
}
document.addEventListener("change", (event) => {
  if (event.target.matches("input[type=checkbox]")) updateSelection();
});
document.addEventListener("htmx:afterSwap", updateSelection);
window.addEventListener("pageshow", updateSelection);
updateSelection();
