// The object list: select all rows, the selection buttons. No inline scripts (CSP).
document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-select-all]");
  if (!all) return;
  const table = all.closest("table");
  all.dataset.selectAll.split(" ").forEach((name) => {
    table.querySelectorAll(`tbody input[type=checkbox][name="${name}"]`).forEach((box) => {
      box.checked = all.checked;
    });
  });
});

// The "Selected objects" buttons stay off until an object is ticked, and say how many are.
// (Without JavaScript they stay on and the server answers "Select at least one object".)
function updateSelection() {
  const form = document.getElementById("object-actions");
  if (!form) return;
  const boxes = 'input[type=checkbox][form="object-actions"]:is([name="key_b64"], [name="folder_b64"]):checked';
  const ticked = document.querySelectorAll(boxes).length;
  form.querySelectorAll("[data-needs-selection]").forEach((button) => {
    button.disabled = ticked === 0;
    if (button.dataset.title === undefined) button.dataset.title = button.title;
    button.title = ticked === 0 ? "Tick folders or objects in the list first" : button.dataset.title;
  });
  const count = form.querySelector("[data-selection-count]");
  if (count) count.textContent = ticked ? `${ticked} selected:` : "Selected:";
}
document.addEventListener("change", (event) => {
  if (event.target.matches("input[type=checkbox]")) updateSelection();
});
document.addEventListener("htmx:afterSwap", updateSelection);
window.addEventListener("pageshow", updateSelection);
updateSelection();

// Keyboard shortcuts of the object list (listed in the "?" dialog, templates/buckets/objects/_shortcuts.html).
// They act only when focus is not in a text field, so typing a filter or a name never triggers one.
function objectRows() {
  return [...document.querySelectorAll("#object-table tbody tr")].filter((row) => row.querySelector("a.entry"));
}

function currentRow() {
  return document.activeElement?.closest?.("#object-table tbody tr") || null;
}

function focusRow(row) {
  const link = row?.querySelector("a.entry");
  if (!link) return;
  link.focus();
  link.scrollIntoView({ block: "nearest" });
}

function moveRow(step) {
  const rows = objectRows();
  if (!rows.length) return;
  const index = rows.indexOf(currentRow());
  const next = index < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, index + step));
  focusRow(rows[next]);
}

function upUrl() {
  const filter = document.querySelector("form.object-filter");
  const prefix = filter?.querySelector("input[name=prefix]")?.value || "";
  if (!prefix) return document.querySelector("nav.breadcrumbs a:nth-of-type(2)")?.href || null;
  const parent = prefix.slice(0, -1).lastIndexOf("/");
  const base = filter.getAttribute("action");
  return parent < 0 ? base : `${base}?prefix=${encodeURIComponent(prefix.slice(0, parent + 1))}`;
}

function typing(target) {
  const text = "input:not([type=checkbox]):not([type=radio]):not([type=button]):not([type=submit]):not([type=file])";
  return target.closest?.(`${text}, select, textarea, [contenteditable=''], [contenteditable=true], dialog`);
}

const shortcuts = {
  j: () => moveRow(1),
  ArrowDown: () => moveRow(1),
  k: () => moveRow(-1),
  ArrowUp: () => moveRow(-1),
  o: () => currentRow()?.querySelector("a.entry")?.click(),
  x: () => {
    const box = currentRow()?.querySelector("input[type=checkbox]");
    if (!box) return;
    box.checked = !box.checked;
    box.dispatchEvent(new Event("change", { bubbles: true }));
  },
  a: () => {
    const bar = document.getElementById("object-actions");
    const first = [...(bar?.querySelectorAll("button:not([disabled]), a.button") || [])][0];
    first?.focus();
  },
  u: () => {
    const folded = document.getElementById("upload-toggle");
    if (folded) folded.open = true;
    document.querySelector("[data-upload-panel] input[type=file]:not([webkitdirectory])")?.click();
  },
  "/": () => document.getElementById("object-filter")?.focus(),
  Backspace: () => {
    const url = upUrl();
    if (url) window.location.assign(url);
  },
  "?": () => document.getElementById("shortcuts-help")?.showModal(),
};

document.addEventListener("keydown", (event) => {
  if (!document.getElementById("object-table") || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.id === "object-filter" && event.key === "ArrowDown") {
    event.preventDefault();
    moveRow(1);
    return;
  }
  if (typing(event.target)) return;
  // The arrows keep scrolling the page unless focus is already on a row.
  if ((event.key === "ArrowDown" || event.key === "ArrowUp") && !currentRow()) return;
  const action = shortcuts[event.key];
  if (!action) return;
  event.preventDefault();
  action();
});

document.addEventListener("click", (event) => {
  if (event.target.closest("[data-shortcuts-open]")) document.getElementById("shortcuts-help")?.showModal();
});

// The upload panel folds away; how it was left is remembered (a cookie, so the page comes folded or not
// without a flash). Dragging files over the page unfolds it, so a drop still lands on it.
document.addEventListener("toggle", (event) => {
  const panel = event.target;
  if (!(panel instanceof HTMLDetailsElement) || !panel.dataset.rememberOpen) return;
  const state = panel.open ? "open" : "closed";
  document.cookie = `${panel.dataset.rememberOpen}=${state}; path=/; max-age=31536000; SameSite=Lax`;
}, true);
document.addEventListener("dragenter", (event) => {
  const panel = document.getElementById("upload-toggle");
  if (panel && !panel.open && event.dataTransfer?.types?.includes("Files")) panel.open = true;
});

// A row's actions menu: Escape closes it (and gives focus back to its button); opening one closes the others.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const menu = event.target.closest?.("details.menu[open]");
  if (!menu) return;
  menu.open = false;
  menu.querySelector("summary")?.focus();
});
document.addEventListener("toggle", (event) => {
  const menu = event.target;
  if (!(menu instanceof HTMLDetailsElement) || !menu.matches("details.menu") || !menu.open) return;
  document.querySelectorAll("details.menu[open]").forEach((other) => {
    if (other !== menu) other.open = false;
  });
}, true);
document.addEventListener("click", (event) => {
  if (event.target.closest("details.menu")) return;
  document.querySelectorAll("details.menu[open]").forEach((menu) => {
    menu.open = false;
  });
});
