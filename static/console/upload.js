// Uploads from the browser straight to S3 with presigned URLs (multipart for big files), or, when
// the bucket has no CORS rule for this console, through the console one part at a time.
// Plain JS, no build step, no inline script: the panel ([data-upload-panel]) is found by event
// delegation, so it works when htmx swaps it in. XMLHttpRequest, because fetch has no upload progress.
(() => {
  "use strict";

  const PARALLEL = 4; // parts (or small files) in flight at once
  const URL_BATCH = 20; // presigned part URLs asked for at a time
  const TRIES = 3; // attempts per part before the file fails
  const MAX_KEY_BYTES = 1024;

  const TYPES = {
    txt: "text/plain", log: "text/plain", md: "text/markdown", csv: "text/csv", tsv: "text/tab-separated-values",
    html: "text/html", htm: "text/html", css: "text/css", js: "text/javascript", mjs: "text/javascript",
    json: "application/json", xml: "application/xml", yaml: "application/yaml", yml: "application/yaml",
    pdf: "application/pdf", zip: "application/zip", gz: "application/gzip", tgz: "application/gzip",
    tar: "application/x-tar", bz2: "application/x-bzip2", xz: "application/x-xz", "7z": "application/x-7z-compressed",
    wasm: "application/wasm", parquet: "application/vnd.apache.parquet",
    png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp",
    svg: "image/svg+xml", avif: "image/avif", ico: "image/x-icon", bmp: "image/bmp", tif: "image/tiff", tiff: "image/tiff",
    mp3: "audio/mpeg", wav: "audio/wav", ogg: "audio/ogg", flac: "audio/flac", m4a: "audio/mp4",
    mp4: "video/mp4", webm: "video/webm", mov: "video/quicktime", mkv: "video/x-matroska",
    woff: "font/woff", woff2: "font/woff2", ttf: "font/ttf", otf: "font/otf",
    doc: "application/msword", docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    xls: "application/vnd.ms-excel", xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ppt: "application/vnd.ms-powerpoint", pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  };

  function guessType(name) {
    const dot = name.lastIndexOf(".");
    const ext = dot >= 0 ? name.slice(dot + 1).toLowerCase() : "";
    return TYPES[ext] || "application/octet-stream";
  }

  function human(bytes) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return `${unit ? value.toFixed(value < 10 ? 1 : 0) : value} ${units[unit]}`;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const keyBytes = (key) => new TextEncoder().encode(key).length;

  class UploadError extends Error {
    constructor(message, { status = 0, retry = false, network = false, cancelled = false, errors = null } = {}) {
      super(message);
      Object.assign(this, { status, retry, network, cancelled, errors });
    }
  }

  function statusMessage(status) {
    if (status === 403) return "You are not allowed to upload here.";
    if (status === 404) return "The bucket is gone, or not visible to you.";
    if (status === 413) return "Too large.";
    if (status >= 500) return `The server answered ${status}.`;
    return `The request failed (${status}).`;
  }

  // --- one request with upload progress ---------------------------------------
  function send(method, url, body, headers, onProgress, job) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      for (const [name, value] of Object.entries(headers || {})) xhr.setRequestHeader(name, value);
      if (onProgress) xhr.upload.addEventListener("progress", (e) => onProgress(e.loaded));
      xhr.addEventListener("load", () => { job?.xhrs.delete(xhr); resolve(xhr); });
      xhr.addEventListener("error", () => {
        job?.xhrs.delete(xhr);
        reject(new UploadError("The connection failed.", { network: true, retry: true }));
      });
      xhr.addEventListener("abort", () => {
        job?.xhrs.delete(xhr);
        reject(new UploadError("Cancelled.", { cancelled: true }));
      });
      job?.xhrs.add(xhr);
      xhr.send(body);
    });
  }

  function parseJSON(xhr) {
    try { return JSON.parse(xhr.responseText); } catch { return null; }
  }

  // --- the panel --------------------------------------------------------------
  const panels = new WeakMap();
  let busyPanels = 0;

  function panelFor(el) {
    let panel = panels.get(el);
    if (!panel) { panel = new Panel(el); panels.set(el, panel); }
    return panel;
  }

  class Panel {
    constructor(el) {
      this.el = el;
      const d = el.dataset;
      this.prefix = d.prefix || "";
      this.method = d.method || "fallback"; // "direct", "fallback" or "auto" (direct, falling back)
      this.urls = {
        start: d.startUrl, parts: d.partsUrl, part: d.partUrl, put: d.putUrl,
        complete: d.completeUrl, abort: d.abortUrl, object: d.objectUrl,
      };
      this.csrf = d.csrf;
      this.staged = new Map(); // relative path -> File
      this.jobs = [];
      this.busy = false;
      this.find = (sel) => el.querySelector(sel);
    }

    async postJSON(url, data) {
      const response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": this.csrf },
        body: JSON.stringify(data),
      });
      if (response.status === 204) return {};
      let body = null;
      try { body = await response.json(); } catch { body = null; }
      if (!response.ok) {
        throw new UploadError(body?.error || statusMessage(response.status), {
          status: response.status, retry: response.status >= 500 && response.status !== 502, errors: body?.errors,
        });
      }
      if (!body) throw new UploadError("The console answered unexpectedly; your session may have expired. Reload the page.");
      return body;
    }

    // Staging: files wait in the list until "Upload" is pressed (so the options can be set first).
    stage(entries) {
      if (this.busy) {
        this.setError("Wait until these uploads finish (or cancel them) before adding more files.");
        return;
      }
      if (this.jobs.length) this.resetList();
      for (const { file, path } of entries) this.staged.set(path, file);
      this.renderStaged();
    }

    resetList() {
      this.jobs = [];
      this.find("[data-file-list]").replaceChildren();
      this.find("[data-batch]").hidden = true;
      this.setError("");
    }

    renderStaged() {
      const list = this.find("[data-file-list]");
      list.replaceChildren();
      let total = 0;
      for (const [path, file] of this.staged) {
        total += file.size;
        const row = this.row(path, file.size);
        const key = this.prefix + path;
        if (keyBytes(key) > MAX_KEY_BYTES) {
          row.status.textContent = "Key longer than 1,024 bytes: will be skipped";
          row.li.classList.add("is-failed");
        } else {
          row.status.textContent = "Ready";
        }
        row.button.textContent = "Remove";
        row.button.dataset.uploadRemove = path;
        list.append(row.li);
      }
      const count = this.staged.size;
      this.find("[data-staged]").hidden = count === 0;
      this.find("[data-staged-summary]").textContent = `${count} ${count === 1 ? "file" : "files"} · ${human(total)}`;
      const start = this.find("[data-upload-go]");
      start.textContent = count === 1 ? "Upload 1 file" : `Upload ${count} files`;
      start.disabled = count === 0;
      const type = this.find("[data-content-type]");
      if (type) {
        type.disabled = count !== 1;
        const [only] = this.staged.keys();
        type.value = count === 1 ? guessType(only) : "";
        type.placeholder = count === 1 ? "" : "Guessed from each file name";
      }
    }

    row(path, size) {
      const li = document.createElement("li");
      li.className = "upload-file";
      const name = document.createElement("span");
      name.className = "upload-name break";
      name.textContent = path;
      name.title = this.prefix + path;
      const meta = document.createElement("span");
      meta.className = "upload-size muted small nowrap";
      meta.textContent = human(size);
      const progress = document.createElement("progress");
      progress.max = 100;
      progress.value = 0;
      const status = document.createElement("span");
      status.className = "upload-status small";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "small-btn";
      li.append(name, meta, button, progress, status);
      return { li, name, progress, status, button };
    }

    options() {
      const value = (sel) => this.find(sel)?.value.trim() ?? "";
      const rows = (sel) => [...this.el.querySelectorAll(sel)]
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

    setError(text) {
      const box = this.find("[data-upload-error]");
      box.textContent = text;
      box.hidden = !text;
    }

    // --- the batch ------------------------------------------------------------
    async go() {
      if (this.busy || !this.staged.size) return;
      const options = this.options();
      const singleType = this.staged.size === 1 ? this.find("[data-content-type]")?.value.trim() : "";
      const list = this.find("[data-file-list]");
      list.replaceChildren();
      this.setError("");
      this.jobs = [];
      for (const [path, file] of this.staged) {
        const job = new FileJob(this, file, path, options, singleType || guessType(path));
        list.append(job.row.li);
        this.jobs.push(job);
        if (keyBytes(job.key) > MAX_KEY_BYTES) job.fail(new UploadError("The key is longer than 1,024 bytes."));
      }
      this.staged.clear();
      this.find("[data-staged]").hidden = true;
      this.find("[data-batch]").hidden = false;
      this.find("[data-batch-done]").hidden = true;
      this.find("[data-cancel-all]").hidden = false;
      this.setBusy(true);
      this.began = performance.now();
      this.render();
      await Promise.all(Array.from({ length: PARALLEL }, () => this.worker()));
      this.setBusy(false);
      this.finish();
    }

    setBusy(busy) {
      if (busy === this.busy) return;
      this.busy = busy;
      busyPanels += busy ? 1 : -1;
      this.el.classList.toggle("is-busy", busy);
    }

    async worker() {
      for (;;) {
        const task = await this.nextTask();
        if (!task) return;
        await task();
      }
    }

    // The next piece of work in file order: start a file, or claim its next part.
    async nextTask() {
      for (const job of this.jobs) {
        if (job.state === "queued") {
          job.state = "starting";
          job.started = job.start();
          await job.started;
        } else if (job.state === "starting") {
          await job.started;
        }
        if (job.state !== "uploading") continue;
        if (!job.plan.multipart) {
          if (job.claimed) continue;
          job.claimed = true;
          return () => job.sendWhole();
        }
        if (job.nextPart <= job.plan.part_count) {
          const number = job.nextPart++;
          return () => job.sendPart(number);
        }
      }
      return null;
    }

    switchToFallback() {
      if (this.method === "fallback") return;
      this.method = "fallback";
      const note = this.find("[data-method-note]");
      if (note) note.textContent = "S3 refused the browser (no CORS rule for this console): uploading through the console instead.";
    }

    cancelAll() {
      for (const job of this.jobs) job.cancel();
    }

    render() {
      if (this.renderQueued) return;
      this.renderQueued = true;
      requestAnimationFrame(() => {
        this.renderQueued = false;
        let total = 0;
        let sent = 0;
        let done = 0;
        for (const job of this.jobs) {
          job.render();
          if (job.state === "cancelled" || job.state === "failed") continue;
          total += job.file.size;
          sent += job.sentBytes();
          if (job.state === "done") done += 1;
        }
        const counted = this.jobs.filter((j) => j.state !== "cancelled").length;
        const percent = total ? Math.floor((sent / total) * 100) : counted && done === counted ? 100 : 0;
        this.find("[data-batch-progress]").value = percent;
        this.find("[data-batch-percent]").textContent = `${percent}%`;
        const seconds = (performance.now() - this.began) / 1000;
        const speed = seconds > 0.5 ? ` · ${human(sent / seconds)}/s` : "";
        this.find("[data-batch-status]").textContent =
          `${done} of ${counted} ${counted === 1 ? "file" : "files"} · ${human(sent)} of ${human(total)}${this.busy ? speed : ""}`;
      });
    }

    finish() {
      this.find("[data-cancel-all]").hidden = true;
      const done = this.jobs.filter((j) => j.state === "done");
      const failed = this.jobs.filter((j) => j.state === "failed");
      const cancelled = this.jobs.filter((j) => j.state === "cancelled");
      const bytes = done.reduce((sum, j) => sum + j.file.size, 0);
      const seconds = ((performance.now() - this.began) / 1000).toFixed(1);
      const files = (n) => `${n} ${n === 1 ? "file" : "files"}`;
      const text = [done.length ? `Uploaded ${files(done.length)} (${human(bytes)}) in ${seconds} s.` : "Nothing was uploaded."];
      if (failed.length) text.push(`${files(failed.length)} failed.`);
      if (cancelled.length) text.push(`${files(cancelled.length)} cancelled.`);
      const summary = this.find("[data-batch-done]");
      summary.hidden = false;
      summary.querySelector("[data-batch-summary]").textContent = text.join(" ");
      summary.querySelector("[data-reload]").hidden = done.length === 0;
      summary.classList.toggle("has-failures", failed.length > 0);
      this.render();
      if (done.length) {
        document.body.dispatchEvent(new CustomEvent("objects-changed", { bubbles: true }));
        refreshList(false);
      }
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

  // --- one file -----------------------------------------------------------------
  class FileJob {
    constructor(panel, file, path, options, contentType) {
      Object.assign(this, { panel, file, path, options, contentType });
      this.key = panel.prefix + path;
      this.state = "queued";
      this.plan = null;
      this.nextPart = 1;
      this.etags = new Map();
      this.inflight = new Map(); // part -> bytes sent so far
      this.doneBytes = 0;
      this.urls = new Map(); // part -> presigned URL or a promise of it
      this.xhrs = new Set();
      this.methods = new Set();
      this.row = panel.row(path, file.size);
      this.row.button.textContent = "Cancel";
      this.row.button.dataset.uploadCancel = "";
      this.row.li.uploadJob = this;
      this.message = "Waiting";
    }

    sentBytes() {
      if (this.state === "done") return this.file.size;
      let sum = this.doneBytes;
      for (const bytes of this.inflight.values()) sum += bytes;
      return Math.min(sum, this.file.size);
    }

    render() {
      const { progress, status, button, li } = this.row;
      const size = this.file.size;
      const percent = this.state === "done" ? 100 : size ? Math.floor((this.sentBytes() / size) * 100) : 0;
      progress.value = percent;
      li.dataset.state = this.state;
      li.classList.toggle("is-failed", this.state === "failed");
      li.classList.toggle("is-done", this.state === "done");
      if (this.state === "uploading") status.textContent = `${percent}%`;
      else status.textContent = this.message;
      button.hidden = ["done", "failed", "cancelled"].includes(this.state);
      if (this.state === "done" && this.panel.urls.object && !li.querySelector("a")) {
        const link = document.createElement("a");
        link.href = `${this.panel.urls.object}?${new URLSearchParams({ key: this.key })}`;
        link.textContent = "Open";
        link.className = "small";
        status.after(link);
      }
    }

    async start() {
      this.message = "Starting…";
      this.panel.render();
      try {
        this.plan = await this.panel.postJSON(this.panel.urls.start, {
          key: this.key,
          size: this.file.size,
          content_type: this.contentType,
          method: this.panel.method === "fallback" ? "fallback" : "direct",
          ...this.options,
        });
      } catch (error) {
        if (error.errors && Object.keys(error.errors).some((field) => field !== "key")) {
          this.panel.setError(`Check the options: ${error.message}`);
        }
        this.fail(error);
        return;
      }
      if (this.state === "cancelled") { this.abortRemote(); return; }
      this.state = "uploading";
      this.panel.render();
    }

    // Files smaller than one part: one PUT to S3 (presigned), or one POST through the console.
    async sendWhole() {
      try {
        await this.withRetries(1, async () => {
          if (this.panel.method !== "fallback" && this.plan.put) {
            const xhr = await this.direct(this.plan.put.url, this.file, this.plan.put.headers, 1);
            if (xhr) {
              if (xhr.status < 200 || xhr.status >= 300) throw this.s3Error(xhr, 1);
              return;
            }
          }
          await this.viaConsole(this.panel.urls.put, 1);
        });
        if (this.methods.has("direct")) await this.complete();
        else this.succeed();
      } catch (error) {
        this.fail(error);
      }
    }

    async sendPart(number) {
      try {
        const etag = await this.withRetries(number, () => this.sendPartOnce(number));
        this.etags.set(number, etag);
        if (this.etags.size === this.plan.part_count) await this.complete();
      } catch (error) {
        this.fail(error);
      }
    }

    async sendPartOnce(number) {
      if (this.panel.method !== "fallback") {
        const url = await this.partUrl(number);
        const xhr = await this.direct(url, this.blob(number), {}, number);
        if (xhr) {
          if (xhr.status < 200 || xhr.status >= 300) {
            this.urls.delete(number); // it may have expired: sign a fresh one for the next try
            throw this.s3Error(xhr, number);
          }
          const etag = xhr.getResponseHeader("ETag");
          if (etag) return etag;
          // The bucket's CORS rule does not expose ETag: send this part (and the rest) through the console.
          this.panel.switchToFallback();
        }
      }
      const body = await this.viaConsole(`${this.panel.urls.part}?part=${number}`, number);
      return body.etag;
    }

    // One request straight to S3. Answers null when the browser could not reach S3 at all
    // (no CORS rule: the browser hides the answer), after switching the panel to the fallback.
    async direct(url, body, headers, number) {
      try {
        const xhr = await send("PUT", url, body, headers, (loaded) => this.progress(number, loaded), this);
        this.methods.add("direct");
        return xhr;
      } catch (error) {
        // No answer at all: no CORS rule for this origin, or S3 is not reachable from the browser
        // (an endpoint URL only the console server can reach). The console can still carry the bytes.
        if (!error.network) throw error;
        this.panel.switchToFallback();
        return null;
      }
    }

    async viaConsole(url, number) {
      const headers = {
        "Content-Type": "application/octet-stream",
        "X-CSRFToken": this.panel.csrf,
        "X-Upload-Token": this.plan.token,
      };
      const xhr = await send("POST", url, this.blob(number), headers, (loaded) => this.progress(number, loaded), this);
      const body = parseJSON(xhr);
      if (xhr.status < 200 || xhr.status >= 300 || !body) {
        const message = body?.error || statusMessage(xhr.status);
        throw new UploadError(message, { status: xhr.status, retry: xhr.status >= 500 || xhr.status === 400 });
      }
      this.methods.add("fallback");
      return body;
    }

    s3Error(xhr, number) {
      const code = /<Code>([^<]+)<\/Code>/.exec(xhr.responseText || "")?.[1];
      const message = code ? `S3 refused part ${number}: ${code}` : `S3 answered ${xhr.status} for part ${number}.`;
      return new UploadError(message, { status: xhr.status, retry: true });
    }

    async withRetries(number, attempt) {
      for (let tries = 1; ; tries++) {
        if (this.state !== "uploading") throw new UploadError("Cancelled.", { cancelled: true });
        try {
          const result = await attempt();
          this.inflight.delete(number);
          this.doneBytes += this.partLength(number);
          this.panel.render();
          return result;
        } catch (error) {
          this.inflight.delete(number);
          this.panel.render();
          if (error.cancelled || !error.retry || tries >= TRIES) throw error;
          await sleep(500 * 2 ** tries);
        }
      }
    }

    partLength(number) {
      if (!this.plan.multipart) return this.file.size;
      return Math.min(this.plan.part_size, this.file.size - (number - 1) * this.plan.part_size);
    }

    blob(number) {
      if (!this.plan.multipart) return this.file;
      const from = (number - 1) * this.plan.part_size;
      return this.file.slice(from, from + this.partLength(number));
    }

    progress(number, loaded) {
      this.inflight.set(number, loaded);
      this.panel.render();
    }

    // Presigned part URLs come in batches: the first part that lacks one asks for the next 20.
    async partUrl(number) {
      if (!this.urls.has(number)) {
        const wanted = [];
        for (let n = number; n <= this.plan.part_count && wanted.length < URL_BATCH; n++) {
          if (!this.urls.has(n)) wanted.push(n);
        }
        const batch = this.panel.postJSON(this.panel.urls.parts, { token: this.plan.token, parts: wanted });
        for (const n of wanted) {
          const url = batch.then((answer) => answer.urls[String(n)]);
          url.catch(() => this.urls.delete(n)); // the part that awaits it sees the error; the rest ask again
          this.urls.set(n, url);
        }
      }
      return this.urls.get(number);
    }

    async complete() {
      this.message = "Finishing…";
      this.state = "completing";
      this.panel.render();
      const parts = [...this.etags].map(([part, etag]) => ({ part, etag }));
      const method = this.methods.size > 1 ? "mixed" : [...this.methods][0] || "direct";
      try {
        await this.panel.postJSON(this.panel.urls.complete, { token: this.plan.token, parts, method });
      } catch (error) {
        this.state = "uploading";
        this.fail(error);
        return;
      }
      this.succeed();
    }

    succeed() {
      this.state = "done";
      this.message = this.methods.has("fallback") ? "Done (through the console)" : "Done";
      this.panel.render();
    }

    fail(error) {
      if (["done", "failed", "cancelled"].includes(this.state)) return;
      const hadPlan = this.plan !== null && this.state !== "starting";
      this.state = "failed";
      this.message = error.message || "Failed.";
      for (const xhr of [...this.xhrs]) xhr.abort();
      if (hadPlan && this.plan.multipart) this.abortRemote();
      this.panel.render();
    }

    cancel() {
      if (["done", "failed", "cancelled"].includes(this.state)) return;
      const starting = this.state === "starting" || this.state === "queued";
      this.state = "cancelled";
      this.message = "Cancelled";
      for (const xhr of [...this.xhrs]) xhr.abort();
      if (!starting) this.abortRemote(); // a file still starting aborts once its start answers
      this.panel.render();
    }

    // Tell the console to AbortMultipartUpload (and audit it); best effort.
    abortRemote() {
      if (!this.plan || this.aborted) return;
      this.aborted = true;
      this.panel.postJSON(this.panel.urls.abort, { token: this.plan.token }).catch((error) => {
        this.message += ` (the console could not abort it: ${error.message})`;
        this.panel.render();
      });
    }
  }

  // --- picking and dropping files ---------------------------------------------
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

  document.addEventListener("dragover", (event) => {
    if (!hasFiles(event) || !document.querySelector("[data-upload-panel]")) return;
    event.preventDefault(); // never let the browser open a dropped file instead of the console
    const zone = event.target.closest?.("[data-upload-panel][data-can-upload]");
    event.dataTransfer.dropEffect = zone ? "copy" : "none";
    document.querySelectorAll("[data-upload-panel].is-over").forEach((el) => el !== zone && el.classList.remove("is-over"));
    zone?.classList.add("is-over");
  });

  document.addEventListener("dragleave", (event) => {
    const zone = event.target.closest?.("[data-upload-panel]");
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove("is-over");
  });

  document.addEventListener("drop", (event) => {
    if (!hasFiles(event) || !document.querySelector("[data-upload-panel]")) return;
    event.preventDefault();
    const zone = event.target.closest?.("[data-upload-panel][data-can-upload]");
    document.querySelectorAll("[data-upload-panel].is-over").forEach((el) => el.classList.remove("is-over"));
    if (!zone) return;
    const panel = panelFor(zone);
    droppedFiles(event.dataTransfer).then((files) => panel.stage(files), (error) => panel.setError(`Could not read the dropped files: ${error.message}`));
  });

  document.addEventListener("change", (event) => {
    const input = event.target.closest?.("[data-file-input]");
    if (input) {
      const panel = panelFor(input.closest("[data-upload-panel]"));
      panel.stage([...input.files].map((file) => ({ file, path: file.webkitRelativePath || file.name })));
      input.value = "";
      return;
    }
    const sse = event.target.closest?.("[data-opt-sse]");
    if (sse) {
      const kms = sse.closest("[data-upload-panel]").querySelector("[data-kms-field]");
      if (kms) kms.hidden = sse.value !== "aws:kms";
    }
  });

  document.addEventListener("click", (event) => {
    const target = event.target.closest?.("button");
    const panelEl = target?.closest("[data-upload-panel]");
    if (!panelEl) return;
    const panel = panelFor(panelEl);
    if (target.matches("[data-upload-go]")) panel.go();
    else if (target.matches("[data-upload-clear]")) { panel.staged.clear(); panel.renderStaged(); }
    else if (target.matches("[data-upload-remove]")) { panel.staged.delete(target.dataset.uploadRemove); panel.renderStaged(); }
    else if (target.matches("[data-upload-cancel]")) target.closest(".upload-file").uploadJob?.cancel();
    else if (target.matches("[data-cancel-all]")) panel.cancelAll();
    else if (target.matches("[data-reload]")) refreshList(true);
    else if (target.matches("[data-upload-add-row]")) {
      const template = panelEl.querySelector(`template[data-upload-row-template="${target.dataset.uploadAddRow}"]`);
      target.closest("fieldset").querySelector("[data-rows]").append(template.content.cloneNode(true));
    } else if (target.matches("[data-upload-remove-row]")) target.closest("[data-meta-row], [data-tag-row]").remove();
    else return;
    event.preventDefault();
  });

  window.addEventListener("beforeunload", (event) => {
    if (busyPanels > 0) event.preventDefault(); // leaving now would cut the uploads off
  });
})();
