// One file's upload (FileJob) and a batch of them (Batch). No DOM here: the panel renders what
// these report through `changed()`.
//
// A file smaller than one part is one PUT to S3 (presigned) or one POST through the console; a
// bigger one is a multipart upload the console starts and completes, its parts sent straight to S3
// with presigned URLs or through the console. Parts of all files share PARALLEL slots, in file order.
import { State, isFinal } from "./states.js";
import { UploadError, cancelled, s3Error, send, succeeded, withRetries } from "./transport.js";

export const PARALLEL = 4; // parts (or small files) in flight at once
const URL_BATCH = 20; // presigned part URLs asked for at a time

/**
 * How the bytes travel, shared by the files of one batch: "direct" (browser to S3), "fallback"
 * (through the console) or "auto" (direct, falling back). Once S3 refuses the browser, every later
 * request goes through the console.
 */
export class Route {
  constructor(method, onFallback) {
    this.method = method;
    this.onFallback = onFallback;
  }

  get direct() {
    return this.method !== "fallback";
  }

  fallBack() {
    if (this.method === "fallback") return;
    this.method = "fallback";
    this.onFallback?.();
  }
}

/**
 * S3 refused a PUT from the browser because the bucket's object lock asks for a checksum that a presigned
 * request cannot carry: the default retention was set after the console planned this upload (outside the
 * console, or the console's remembered answer was still a minute old). Those bytes, and the batch's next
 * ones, go through the console, which adds it.
 */
function lockRefused(xhr) {
  return xhr.status === 400 && /Object ?Lock/i.test(xhr.responseText || "");
}

export class FileJob {
  /**
   * @param {object} o
   * @param {File} o.file
   * @param {string} o.path  the file's path under the panel's prefix (folders keep theirs)
   * @param {string} o.key   the object key
   * @param {string} o.problem  why the key is refused before anything is sent ("" when fine)
   * @param {object} o.options  storage class, encryption, metadata and tags, as the start endpoint takes them
   * @param {import("./transport.js").ConsoleApi} o.api
   * @param {Route} o.route
   * @param {() => void} o.changed  told after every change worth showing
   * @param {(message: string) => void} o.optionsRefused  the console refused the options (not the key)
   */
  constructor({ file, path, key, problem = "", contentType, options, api, route, changed, optionsRefused }) {
    Object.assign(this, { file, path, key, contentType, options, api, route, changed, optionsRefused });
    this.state = State.QUEUED;
    this.message = "Waiting";
    this.plan = null;
    this.nextPart = 1;
    this.claimed = false; // a single-PUT file: taken by a worker
    this.etags = new Map();
    this.inflight = new Map(); // part -> bytes sent so far
    this.doneBytes = 0;
    this.urls = new Map(); // part -> promise of its presigned URL
    this.xhrs = new Set();
    this.methods = new Set(); // how the bytes actually went: "direct", "fallback"
    this.aborted = false;
    if (problem) this.fail(new UploadError(problem));
  }

  get size() {
    return this.file.size;
  }

  sentBytes() {
    if (this.state === State.DONE) return this.size;
    let sum = this.doneBytes;
    for (const bytes of this.inflight.values()) sum += bytes;
    return Math.min(sum, this.size);
  }

  percent() {
    if (this.state === State.DONE) return 100;
    return this.size ? Math.floor((this.sentBytes() / this.size) * 100) : 0;
  }

  // --- the next piece of work ----------------------------------------------------------------
  /** Start the file if it is still queued (the caller awaits it). */
  begin() {
    if (this.state === State.QUEUED) {
      this.state = State.STARTING;
      this.starting = this.start();
    }
    return this.starting;
  }

  /** A task for a free slot (the whole file, or its next part), or null when it has none to give. */
  claim() {
    if (this.state !== State.UPLOADING) return null;
    if (!this.plan.multipart) {
      if (this.claimed) return null;
      this.claimed = true;
      return () => this.sendWhole();
    }
    if (this.nextPart > this.plan.part_count) return null;
    const number = this.nextPart++;
    return () => this.sendPart(number);
  }

  async start() {
    this.message = "Starting…";
    this.changed();
    try {
      this.plan = await this.api.start({
        key: this.key,
        size: this.size,
        content_type: this.contentType,
        method: this.route.direct ? "direct" : "fallback",
        ...this.options,
      });
    } catch (error) {
      if (error.errors && Object.keys(error.errors).some((field) => field !== "key")) {
        this.optionsRefused(error.message);
      }
      this.fail(error);
      return;
    }
    if (this.state === State.CANCELLED) {
      this.abortRemote(); // cancelled while it was starting
      return;
    }
    this.state = State.UPLOADING;
    this.changed();
  }

  // --- sending ---------------------------------------------------------------------------------
  async sendWhole() {
    try {
      await this.attempts(1, async () => {
        if (this.route.direct && this.plan.put) {
          const xhr = await this.direct(this.plan.put.url, this.file, this.plan.put.headers, 1);
          if (xhr) {
            if (succeeded(xhr)) return;
            if (!lockRefused(xhr)) throw s3Error(xhr, 1);
            this.route.fallBack(); // the console adds the checksum S3 asks for
          }
        }
        await this.api.putWhole(this.plan.token, this.file, this.progressOf(1));
        this.methods.add("fallback");
      });
      // Straight to S3: the console checks and audits it. Through the console: already done and audited.
      if (this.methods.has("direct")) await this.complete();
      else this.succeed();
    } catch (error) {
      this.fail(error);
    }
  }

  async sendPart(number) {
    try {
      const etag = await this.attempts(number, () => this.sendPartOnce(number));
      this.etags.set(number, etag);
      if (this.etags.size === this.plan.part_count) await this.complete();
    } catch (error) {
      this.fail(error);
    }
  }

  async sendPartOnce(number) {
    // through_console: the console says these bytes may not go straight to S3 (object lock needs a checksum).
    if (this.route.direct && !this.plan.through_console) {
      const url = await this.partUrl(number);
      if (this.state !== State.UPLOADING) throw cancelled(); // cancelled (or failed) while the URL was signed
      const xhr = await this.direct(url, this.blob(number), {}, number);
      if (xhr && !succeeded(xhr) && lockRefused(xhr)) {
        this.route.fallBack(); // the console adds the checksum S3 asks for
      } else if (xhr) {
        if (!succeeded(xhr)) {
          this.urls.delete(number); // it may have expired: sign a fresh one for the next try
          throw s3Error(xhr, number);
        }
        const etag = xhr.getResponseHeader("ETag");
        if (etag) return etag;
        // The bucket's CORS rule does not expose ETag: send this part (and the rest) through the console.
        this.route.fallBack();
      }
    }
    const body = await this.api.sendPart(this.plan.token, number, this.blob(number), this.progressOf(number));
    this.methods.add("fallback");
    return body.etag;
  }

  /**
   * One PUT straight to S3. Answers null when the browser could not reach S3 at all, after switching
   * the route to the console: no CORS rule for this origin, or an endpoint URL only the console's
   * server can reach. The console can still carry the bytes.
   */
  async direct(url, body, headers, number) {
    try {
      const xhr = await send("PUT", url, body, { headers, ...this.progressOf(number) });
      if (succeeded(xhr)) this.methods.add("direct"); // a refused PUT carried nothing
      return xhr;
    } catch (error) {
      if (!error.network) throw error;
      this.route.fallBack();
      return null;
    }
  }

  /** Attempts at one part, with its bytes counted once it is through. */
  attempts(number, attempt) {
    return withRetries(attempt, {
      stopped: () => this.state !== State.UPLOADING,
      settled: (ok) => {
        this.inflight.delete(number);
        if (ok) this.doneBytes += this.partLength(number);
        this.changed();
      },
    });
  }

  progressOf(number) {
    return {
      onProgress: (loaded) => {
        this.inflight.set(number, loaded);
        this.changed();
      },
      track: this.xhrs,
    };
  }

  partLength(number) {
    if (!this.plan.multipart) return this.size;
    return Math.min(this.plan.part_size, this.size - (number - 1) * this.plan.part_size);
  }

  blob(number) {
    if (!this.plan.multipart) return this.file;
    const from = (number - 1) * this.plan.part_size;
    return this.file.slice(from, from + this.partLength(number));
  }

  /** Presigned part URLs come in batches: the first part that lacks one asks for the next URL_BATCH. */
  partUrl(number) {
    if (!this.urls.has(number)) {
      const wanted = [];
      for (let n = number; n <= this.plan.part_count && wanted.length < URL_BATCH; n++) {
        if (!this.urls.has(n)) wanted.push(n);
      }
      const batch = this.api.partUrls(this.plan.token, wanted);
      for (const n of wanted) {
        const url = batch.then((urls) => urls[String(n)]);
        url.catch(() => this.urls.delete(n)); // the part that awaits it sees the error; the others ask again
        this.urls.set(n, url);
      }
    }
    return this.urls.get(number);
  }

  // --- the end ---------------------------------------------------------------------------------
  async complete() {
    this.message = "Finishing…";
    this.state = State.COMPLETING;
    this.changed();
    const parts = [...this.etags].map(([part, etag]) => ({ part, etag }));
    const method = this.methods.size > 1 ? "mixed" : [...this.methods][0] || "direct";
    try {
      await this.api.complete(this.plan.token, parts, method);
    } catch (error) {
      this.state = State.UPLOADING; // so that fail() aborts the multipart upload
      this.fail(error);
      return;
    }
    this.succeed();
  }

  succeed() {
    this.state = State.DONE;
    this.message = this.methods.has("fallback") ? "Done (through the console)" : "Done";
    this.changed();
  }

  fail(error) {
    if (isFinal(this.state)) return;
    const started = this.plan !== null && this.state !== State.STARTING;
    this.state = State.FAILED;
    this.message = error.message || "Failed.";
    this.stopRequests();
    if (started && this.plan.multipart) this.abortRemote();
    this.changed();
  }

  cancel() {
    if (isFinal(this.state)) return;
    const starting = this.state === State.STARTING || this.state === State.QUEUED;
    this.state = State.CANCELLED;
    this.message = "Cancelled";
    this.stopRequests();
    if (!starting) this.abortRemote(); // a file still starting aborts once its start answers
    this.changed();
  }

  stopRequests() {
    for (const xhr of [...this.xhrs]) xhr.abort();
  }

  /** Tell the console to AbortMultipartUpload (it audits that); best effort. */
  abortRemote() {
    if (!this.plan || this.aborted) return;
    this.aborted = true;
    this.api.abort(this.plan.token).catch((error) => {
      this.message += ` (the console could not abort it: ${error.message})`;
      this.changed();
    });
  }
}

/** The files of one "Upload" press, run PARALLEL slots at a time. */
export class Batch {
  constructor(jobs) {
    this.jobs = jobs;
    this.began = performance.now();
  }

  async run(parallel = PARALLEL) {
    await Promise.all(Array.from({ length: parallel }, () => this.worker()));
  }

  async worker() {
    for (;;) {
      const task = await this.nextTask();
      if (!task) return;
      await task();
    }
  }

  // The next piece of work in file order: start a file (waiting for its plan), or claim its next part.
  async nextTask() {
    for (const job of this.jobs) {
      if (job.state === State.QUEUED || job.state === State.STARTING) await job.begin();
      const task = job.claim();
      if (task) return task;
    }
    return null;
  }

  cancel() {
    for (const job of this.jobs) job.cancel();
  }

  seconds() {
    return (performance.now() - this.began) / 1000;
  }

  /** Bytes and files of the batch; failed and cancelled files do not count towards the bytes. */
  totals() {
    const totals = { bytes: 0, sent: 0, done: 0, files: 0, failed: 0, cancelled: 0, doneBytes: 0 };
    for (const job of this.jobs) {
      if (job.state === State.CANCELLED) {
        totals.cancelled += 1;
        continue;
      }
      totals.files += 1;
      if (job.state === State.FAILED) {
        totals.failed += 1;
        continue;
      }
      totals.bytes += job.size;
      totals.sent += job.sentBytes();
      if (job.state === State.DONE) {
        totals.done += 1;
        totals.doneBytes += job.size;
      }
    }
    return totals;
  }
}
