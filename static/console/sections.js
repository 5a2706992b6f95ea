// Editable rows of the section forms (tags, metadata, grants): one contract for every form.
// A button[data-add-row] inside a <form> appends a copy of the form's template[data-row-template]
// to its table[data-rows] <tbody>; a button[data-remove-row] removes its row (the last row is
// emptied instead, so there is always one to type into). No inline scripts anywhere (CSP).
document.addEventListener("click", (event) => {
  const add = event.target.closest("[data-add-row]");
  if (add) {
    const form = add.closest("form");
    const template = form?.querySelector("template[data-row-template]");
    const body = form?.querySelector("table[data-rows] tbody");
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
    if (body && body.rows.length > 1) {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      next?.querySelector("input, select")?.focus();
    } else {
      row?.querySelectorAll("input").forEach((input) => (input.value = ""));
      row?.querySelector("input")?.focus();
    }
  }
});
