// Bucket settings: add and remove rows in the tag and grant editors (no inline scripts: CSP).
document.addEventListener("click", (event) => {
  const add = event.target.closest("[data-add-row]");
  if (add) {
    const template = document.getElementById(add.dataset.addRow);
    const rows = document.getElementById(add.dataset.rows);
    if (template && rows) {
      rows.append(template.content.cloneNode(true));
      rows.lastElementChild?.querySelector("input, select")?.focus();
    }
  }
  const remove = event.target.closest("[data-remove-row]");
  if (remove) remove.closest("tr")?.remove();
});
