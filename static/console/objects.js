// The object list and object page: select all rows, add and remove editable rows. No inline scripts (CSP).
document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-select-all]");
  if (!all) return;
  const table = all.closest("table");
  const name = all.dataset.selectAll;
  table.querySelectorAll(`tbody input[type=checkbox][name="${name}"]`).forEach((box) => {
    box.checked = all.checked;
  });
});

document.addEventListener("click", (event) => {
  const add = event.target.closest("[data-add-row]");
  if (add) {
    const scope = add.closest("form");
    const template = scope?.querySelector("template[data-row-template]");
    const body = scope?.querySelector("table[data-rows] tbody");
    if (template && body) {
      body.append(template.content.cloneNode(true));
      body.lastElementChild?.querySelector("input, select")?.focus();
    }
    return;
  }
  const remove = event.target.closest("[data-remove-row]");
  if (remove) {
    const row = remove.closest("tr");
    const body = row?.parentElement;
    // Keep one row to type into: empty the last one instead of removing it.
    if (body && body.rows.length > 1) row.remove();
    else row?.querySelectorAll("input").forEach((input) => (input.value = ""));
  }
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
