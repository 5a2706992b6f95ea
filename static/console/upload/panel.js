// The upload panel (templates/buckets/objects/_upload_panel.html): staged files, the batch with its
// progress and summary, one row per file from the panel's <template data-file-row>.
//
// One Panel per panel element, made on first use: htmx swaps the panel in after the page loaded
// (and again after "Allow uploads from this console"), so nothing is bound to the element itself;
// the listeners sit on the document (installPanel) and find their panel from the event's target.
import { humanSize, count, guessType } from "./format.js";
import { Batch, FileJob, Route } from "./job.js";
import { State, isFinal } from "./states.js";
import { ConsoleApi } from "./transport.js";
import { fileProblem, optionProblems, readVocabulary } from "./vocabulary.js";

const panels = new WeakMap();
let busyPanels = 0;

/** Some panel is uploading: leaving the page now would cut the uploads off. */
export const anyBusy = () => busyPanels > 0;

/** The Panel of the upload panel around `target`, or null (no panel, or the user may not upload). */
export function panelOf(target) {
  const el = target?.closest?.("[data-upload-panel][data-can-upload]");
  if (!el) return null;
  let panel = panels.get(el);
  if (!panel) {
    panel = new Panel(el);
    panels.set(el, panel);
  }
  return panel;
}

export class Panel {
  constructor(el) {
    this.el = el;
    const d = el.dataset;
    this.prefix = d.prefix || "";
    this.objectUrl = d.objectUrl;
    this.api = new ConsoleApi({
      urls: {
        start: d.startUrl,
        parts: d.partsUrl,
        part: d.partUrl,
        put: d.putUrl,
        complete: d.completeUrl,
        abort: d.abortUrl,
      },
      csrf: d.csrf,
    });
    this.route = new Route(d.method || "fallback", () => this.fellBack());
    this.vocabulary = readVocabulary(el);
    this.staged = new Map(); // relative path -> File
    this.batch = null;
    this.rows = new Map(); // FileJob -> its row
    this.owners = new WeakMap(); // row element -> {job} or {path} (a staged file)
    this.busy = false;
  }

  find(selector) {
    return this.el.querySelector(selector);
  }

  // --- staging: files wait in the list until "Upload" is pressed, so the options can be set first ---
  stage(entries) {
    if (this.busy) {
      this.setError("Wait until these uploads finish (or cancel them) before adding more files.");
      return;
    }
    if (this.batch) this.resetList();
    for (const { file, path } of entries) this.staged.set(path, file);
    this.renderStaged();
    if (this.staged.size) this.announce(`${this.find("[data-staged-summary]").textContent} ready to upload.`);
  }

  resetList() {
    this.batch = null;
    this.rows = new Map();
    this.find("[data-file-list]").replaceChildren();
    this.find("[data-batch]").hidden = true;
    this.setError("");
  }

  renderStaged() {
    let total = 0;
    const rows = [];
    for (const [path, file] of this.staged) {
      total += file.size;
      const row = this.makeRow(path, file.size);
      const problem = fileProblem(this.prefix + path, file.size, this.vocabulary);
      row.status.textContent = problem ? `${problem} It will be skipped.` : "Ready";
      row.li.classList.toggle("is-failed", Boolean(problem));
      row.action.textContent = "Remove";
      row.action.setAttribute("aria-label", `Remove ${path}`);
      this.owners.set(row.li, { path });
      rows.push(row.li);
    }
    this.find("[data-file-list]").replaceChildren(...rows);
    const n = this.staged.size;
    this.find("[data-staged]").hidden = n === 0;
    this.find("[data-staged-summary]").textContent = `${count(n, "file")} · ${humanSize(total)}`;
    const go = this.find("[data-upload-go]");
    go.textContent = `Upload ${count(n, "file")}`;
    go.disabled = n === 0;
    const type = this.find("[data-content-type]");
    if (type) {
      type.disabled = n !== 1;
      const [only] = this.staged.keys();
      type.value = n === 1 ? guessType(only) : "";
      type.placeholder = n === 1 ? "" : "Guessed from each file name";
    }
  }

  removeStaged(path) {
    const index = [...this.staged.keys()].indexOf(path);
    this.staged.delete(path);
    this.renderStaged();
    const left = this.el.querySelectorAll("[data-file-list] [data-row=action]");
    this.moveFocus(left[Math.min(index, left.length - 1)] || this.find("[data-pick]"));
  }

  clearStaged() {
    this.staged.clear();
    this.renderStaged();
    this.moveFocus(this.find("[data-pick]"));
  }

  /** A file's row, from the panel's <template data-file-row>. */
  makeRow(path, size) {
    const li = this.find("template[data-file-row]").content.firstElementChild.cloneNode(true);
    const slot = (name) => li.querySelector(`[data-row="${name}"]`);
    const row = {
      li,
      name: slot("name"),
      size: slot("size"),
      action: slot("action"),
      open: slot("open"),
      progress: slot("progress"),
      status: slot("status"),
    };
    row.name.textContent = path;
    row.name.title = this.prefix + path;
    row.size.textContent = humanSize(size);
    row.progress.setAttribute("aria-label", path);
    return row;
  }

  // --- options -------------------------------------------------------------------------------------
  options() {
    const value = (selector) => this.find(selector)?.value.trim() ?? "";
    const rows = (selector) =>
      [...this.el.querySelectorAll(selector)]
        .map((row) => [row.querySelector("[data-name]").value.trim(), row.querySelector("[data-value]").value])
        .filter(([name]) => name);
    return {
      storage_class: value("[data-opt-storage-class]"),
      sse: value("[data-opt-sse]"),
      kms_key_id: value("[data-opt-sse]") === "aws:kms" ? value("[data-opt-kms]") : "",
      metadata: rows("[data-meta-row]"),
      tags: rows("[data-tag-row]"),
    };
  }

  showKmsField() {
    const kms = this.find("[data-kms-field]");
    if (kms) kms.hidden = this.find("[data-opt-sse]").value !== "aws:kms";
  }

  addOptionRow(button) {
    const template = this.find(`template[data-upload-row-template="${button.dataset.uploadAddRow}"]`);
    const rows = button.closest("fieldset").querySelector("[data-rows]");
    rows.append(template.content.cloneNode(true));
    rows.lastElementChild.querySelector("input")?.focus();
  }

  removeOptionRow(button) {
    const fieldset = button.closest("fieldset");
    button.closest("[data-meta-row], [data-tag-row]").remove();
    fieldset.querySelector("[data-upload-add-row]")?.focus();
  }

  // --- the batch -----------------------------------------------------------------------------------
  async go() {
    if (this.busy || !this.staged.size) return;
    const options = this.options();
    const problems = optionProblems(options, this.vocabulary);
    if (problems.length) {
      this.find("[data-upload-options]").open = true;
      this.setError(`Check the options: ${problems.join(" ")}`);
      return;
    }
    this.setError("");
    const singleType = this.staged.size === 1 ? this.find("[data-content-type]")?.value.trim() : "";
    const jobs = [];
    this.rows = new Map();
    for (const [path, file] of this.staged) {
      const key = this.prefix + path;
      const job = new FileJob({
        file,
        path,
        key,
        problem: fileProblem(key, file.size, this.vocabulary),
        contentType: singleType || guessType(path),
        options,
        api: this.api,
        route: this.route,
        changed: () => this.render(),
        optionsRefused: (message) => this.setError(`Check the options: ${message}`),
      });
      const row = this.makeRow(path, file.size);
      row.action.textContent = "Cancel";
      row.action.setAttribute("aria-label", `Cancel ${path}`);
      this.owners.set(row.li, { job });
      this.rows.set(job, row);
      jobs.push(job);
    }
    this.batch = new Batch(jobs);
    this.staged.clear();
    this.find("[data-file-list]").replaceChildren(...[...this.rows.values()].map((row) => row.li));
    this.find("[data-staged]").hidden = true;
    this.find("[data-batch]").hidden = false;
    this.find("[data-batch-done]").hidden = true;
    this.find("[data-cancel-all]").hidden = false;
    this.setBusy(true);
    this.announce(`Uploading ${count(jobs.length, "file")}.`);
    this.moveFocus(this.find("[data-batch-status]"));
    this.render();
    await this.batch.run();
    this.setBusy(false);
    this.finish();
  }

  setBusy(busy) {
    if (busy === this.busy) return;
    this.busy = busy;
    busyPanels += busy ? 1 : -1;
    this.el.classList.toggle("is-busy", busy);
  }

  cancelAll() {
    this.batch?.cancel();
  }

  cancelRow(li) {
    const job = this.owners.get(li)?.job;
    if (!job) return;
    job.cancel();
    // The row's button goes away: focus the next file that can still be cancelled, else the status line.
    const jobs = [...this.rows.keys()];
    const next = jobs.slice(jobs.indexOf(job) + 1).find((other) => !isFinal(other.state));
    this.moveFocus(next ? this.rows.get(next).action : this.find("[data-batch-status]"));
  }

  fellBack() {
    const text = "S3 refused the browser (no CORS rule for this console): uploading through the console instead.";
    this.find("[data-method-note]").textContent = text;
    const badge = this.find("[data-method-badge]");
    if (badge) {
      badge.className = "badge warn";
      badge.textContent = "Through the console";
      badge.title = "Each part passes through the console on its way to S3";
    }
    this.announce(text);
  }

  // Redraws are coalesced to one per frame: progress events come far more often.
  render() {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      if (this.batch) this.draw();
    });
  }

  draw() {
    for (const [job, row] of this.rows) this.drawRow(job, row);
    const t = this.batch.totals();
    const percent = t.bytes ? Math.floor((t.sent / t.bytes) * 100) : t.files && t.done === t.files ? 100 : 0;
    this.find("[data-batch-progress]").value = percent;
    this.find("[data-batch-percent]").textContent = `${percent}%`;
    const seconds = this.batch.seconds();
    const speed = this.busy && seconds > 0.5 ? ` · ${humanSize(t.sent / seconds)}/s` : "";
    this.find("[data-batch-status]").textContent =
      `${t.done} of ${count(t.files, "file")} · ${humanSize(t.sent)} of ${humanSize(t.bytes)}${speed}`;
  }

  drawRow(job, { li, progress, status, action, open }) {
    progress.value = job.percent();
    li.dataset.state = job.state;
    li.classList.toggle("is-failed", job.state === State.FAILED);
    li.classList.toggle("is-done", job.state === State.DONE);
    status.textContent = job.state === State.UPLOADING ? `${job.percent()}%` : job.message;
    action.hidden = isFinal(job.state);
    if (job.state === State.DONE && open.hidden && this.objectUrl) {
      open.href = `${this.objectUrl}?${new URLSearchParams({ key: job.key })}`;
      open.setAttribute("aria-label", `Open ${job.path}`);
      open.hidden = false;
    }
  }

  finish() {
    this.find("[data-cancel-all]").hidden = true;
    const t = this.batch.totals();
    const seconds = this.batch.seconds().toFixed(1);
    const text = [
      t.done ? `Uploaded ${count(t.done, "file")} (${humanSize(t.doneBytes)}) in ${seconds} s.` : "Nothing was uploaded.",
    ];
    if (t.failed) text.push(`${count(t.failed, "file")} failed.`);
    if (t.cancelled) text.push(`${count(t.cancelled, "file")} cancelled.`);
    const done = this.find("[data-batch-done]");
    done.hidden = false;
    done.classList.toggle("has-failures", t.failed > 0);
    done.querySelector("[data-reload]").hidden = t.done === 0;
    const summary = done.querySelector("[data-batch-summary]");
    summary.textContent = text.join(" ");
    this.render();
    this.announce(summary.textContent);
    this.moveFocus(summary);
    if (t.done) {
      document.body.dispatchEvent(new CustomEvent("objects-changed", { bubbles: true }));
      refreshList(false);
    }
  }

  // --- messages and focus --------------------------------------------------------------------------
  setError(text) {
    const box = this.find("[data-upload-error]");
    box.textContent = text;
    box.hidden = !text;
  }

  /** Status text for screen readers (a polite live region that is always in the page). */
  announce(text) {
    this.find("[data-live]").textContent = text;
  }

  /**
   * Focus `target` when the focus is in the panel or lost (on <body>, after the focused button went
   * away); never take it from elsewhere on the page.
   */
  moveFocus(target) {
    const active = document.activeElement;
    if (target && (!active || active === document.body || this.el.contains(active))) target.focus();
  }
}

// The object list below the panel shows the new files: swap its table in place (htmx), or reload.
function refreshList(reloadIfNoTable) {
  if (window.htmx && document.getElementById("object-table")) {
    window.htmx.ajax("GET", window.location.href, { target: "#object-table", swap: "outerHTML" });
  } else if (reloadIfNoTable) {
    window.location.reload();
  }
}

let focusWasInPanel = false;

/** The panel's listeners, on the document once (module scripts run once per page). */
export function installPanel() {
  document.addEventListener("click", (event) => {
    const target = event.target.closest?.("button");
    const panel = panelOf(target);
    if (!panel) return;
    if (target.matches("[data-upload-go]")) panel.go();
    else if (target.matches("[data-upload-clear]")) panel.clearStaged();
    else if (target.matches("[data-row=action]")) {
      const li = target.closest("li");
      const owner = panel.owners.get(li);
      if (owner?.job) panel.cancelRow(li);
      else if (owner) panel.removeStaged(owner.path);
    } else if (target.matches("[data-cancel-all]")) panel.cancelAll();
    else if (target.matches("[data-reload]")) refreshList(true);
    else if (target.matches("[data-upload-add-row]")) panel.addOptionRow(target);
    else if (target.matches("[data-upload-remove-row]")) panel.removeOptionRow(target);
    else return;
    event.preventDefault();
  });

  document.addEventListener("change", (event) => {
    if (event.target.matches?.("[data-opt-sse]")) panelOf(event.target)?.showKmsField();
  });

  // "Allow uploads from this console" swaps the panel: not while it uploads (the uploads would go on
  // out of sight). Afterwards the focus goes to the new panel's status instead of <body>.
  document.addEventListener("htmx:beforeRequest", (event) => {
    const target = event.detail.target;
    const panel = target?.matches?.("[data-upload-panel]") && panels.get(target);
    if (panel?.busy) {
      event.preventDefault();
      panel.setError("Wait until these uploads finish (or cancel them) first.");
    }
  });
  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    if (target?.matches?.("[data-upload-panel]")) focusWasInPanel = target.contains(document.activeElement);
  });
  document.addEventListener("htmx:afterSettle", () => {
    if (!focusWasInPanel) return;
    focusWasInPanel = false;
    const panel = document.querySelector("[data-upload-panel]");
    (panel?.querySelector("[data-cors-error]") || panel?.querySelector("[data-panel-focus]"))?.focus();
  });
}
