// Files into the panel: drag and drop (files and whole folders, walked entry by entry), and the
// "Choose files" / "Choose a folder" buttons, which open their hidden file inputs. Folders keep
// their relative paths. Listeners on the document, so a panel htmx swaps in works at once.
import { panelOf } from "./panel.js";

/** Every file under a FileSystemEntry, with its path from the dropped item on. */
async function filesOfEntry(entry, out) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    out.push({ file, path: entry.fullPath.replace(/^\/+/, "") });
  } else if (entry.isDirectory) {
    const reader = entry.createReader();
    for (;;) {
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (!batch.length) break; // readEntries answers in batches until an empty one
      for (const child of batch) await filesOfEntry(child, out);
    }
  }
}

async function droppedFiles(dataTransfer) {
  // webkitGetAsEntry must be called during the drop event, before any await.
  const entries = [...(dataTransfer.items || [])]
    .filter((item) => item.kind === "file")
    .map((item) => item.webkitGetAsEntry?.())
    .filter(Boolean);
  if (!entries.length) return [...dataTransfer.files].map((file) => ({ file, path: file.name }));
  const out = [];
  for (const entry of entries) await filesOfEntry(entry, out);
  return out;
}

const hasFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
const onPage = () => document.querySelector("[data-upload-panel]") !== null;
const zoneOf = (event) => event.target.closest?.("[data-upload-panel][data-can-upload]") || null;

function clearHighlight(except = null) {
  for (const el of document.querySelectorAll("[data-upload-panel].is-over")) {
    if (el !== except) el.classList.remove("is-over");
  }
}

export function installDropzone() {
  document.addEventListener("dragover", (event) => {
    if (!hasFiles(event) || !onPage()) return;
    event.preventDefault(); // never let the browser open a dropped file instead of the console
    const zone = zoneOf(event);
    event.dataTransfer.dropEffect = zone ? "copy" : "none";
    clearHighlight(zone);
    zone?.classList.add("is-over");
  });

  document.addEventListener("dragleave", (event) => {
    const zone = event.target.closest?.("[data-upload-panel]");
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove("is-over");
  });

  document.addEventListener("drop", (event) => {
    if (!hasFiles(event) || !onPage()) return;
    event.preventDefault();
    clearHighlight();
    const panel = panelOf(zoneOf(event));
    if (!panel) return;
    droppedFiles(event.dataTransfer).then(
      (files) => panel.stage(files),
      (error) => panel.setError(`Could not read the dropped files: ${error.message}`),
    );
  });

  // The visible buttons stand in for the file inputs, which stay hidden (a real button shows its focus).
  document.addEventListener("click", (event) => {
    const button = event.target.closest?.("[data-pick]");
    if (!button) return;
    button.closest("[data-upload-panel]")?.querySelector(`input[data-file-input="${button.dataset.pick}"]`)?.click();
  });

  document.addEventListener("change", (event) => {
    const input = event.target.closest?.("[data-file-input]");
    const panel = input && panelOf(input);
    if (!panel) return;
    panel.stage([...input.files].map((file) => ({ file, path: file.webkitRelativePath || file.name })));
    input.value = ""; // choosing the same files again fires "change" again
  });
}
