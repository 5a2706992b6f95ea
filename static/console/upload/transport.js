// Requests: to the console's JSON endpoints (buckets/upload_views.py; keep the shapes in step with
// them) and straight to S3 with presigned URLs. fetch with the CSRF token for the small JSON calls,
// XMLHttpRequest for bodies because fetch has no upload progress; retries with back-off.

export const TRIES = 3; // attempts per part before the file fails

export class UploadError extends Error {
  constructor(message, { status = 0, retry = false, network = false, cancelled = false, errors = null } = {}) {
    super(message);
    Object.assign(this, { status, retry, network, cancelled, errors });
  }
}

export const cancelled = () => new UploadError("Cancelled.", { cancelled: true });

export function statusMessage(status) {
  if (status === 403) return "You are not allowed to upload here.";
  if (status === 404) return "The bucket is gone, or not visible to you.";
  if (status === 413) return "Too large.";
  if (status >= 500) return `The server answered ${status}.`;
  return `The request failed (${status}).`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Run `attempt` until it succeeds, a non-retryable error comes, or `tries` attempts failed; 1 s, 2 s, …
 * between attempts. `stopped()` is asked before each attempt (a cancelled file stops at once) and
 * `settled(ok)` is told after each one.
 */
export async function withRetries(attempt, { tries = TRIES, stopped = () => false, settled = () => {} } = {}) {
  for (let n = 1; ; n++) {
    if (stopped()) throw cancelled();
    try {
      const result = await attempt();
      settled(true);
      return result;
    } catch (error) {
      settled(false);
      if (error.cancelled || !error.retry || n >= tries) throw error;
      await sleep(500 * 2 ** n);
    }
  }
}

/**
 * One request with upload progress; resolves with the finished XMLHttpRequest whatever its status.
 * Rejects with a retryable network error when no answer came (for S3: also a missing CORS rule,
 * since the browser then hides the answer). `track`, a Set, holds the request while it runs, so that
 * a cancel can abort it.
 */
export function send(method, url, body, { headers = {}, onProgress = null, track = null } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    if (onProgress) xhr.upload.addEventListener("progress", (e) => onProgress(e.loaded));
    const settle = (then) => () => {
      track?.delete(xhr);
      then();
    };
    xhr.addEventListener("load", settle(() => resolve(xhr)));
    xhr.addEventListener("error", settle(() => reject(new UploadError("The connection failed.", { network: true, retry: true }))));
    xhr.addEventListener("abort", settle(() => reject(cancelled())));
    track?.add(xhr);
    xhr.send(body);
  });
}

export const succeeded = (xhr) => xhr.status >= 200 && xhr.status < 300;

/** S3's refusal of a part, with its error code when the answer has one. Retryable: URLs expire. */
export function s3Error(xhr, number) {
  const code = /<Code>([^<]+)<\/Code>/.exec(xhr.responseText || "")?.[1];
  const message = code ? `S3 refused part ${number}: ${code}` : `S3 answered ${xhr.status} for part ${number}.`;
  return new UploadError(message, { status: xhr.status, retry: true });
}

function parseJSON(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The console's upload endpoints, from the panel's data-*-url attributes. */
export class ConsoleApi {
  constructor({ urls, csrf }) {
    this.urls = urls;
    this.csrf = csrf;
  }

  async postJSON(url, data) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": this.csrf },
      body: JSON.stringify(data),
    });
    if (response.status === 204) return {};
    const body = parseJSON(await response.text());
    if (!response.ok) {
      throw new UploadError(body?.error || statusMessage(response.status), {
        status: response.status,
        retry: response.status >= 500 && response.status !== 502,
        errors: body?.errors,
      });
    }
    if (!body) throw new UploadError("The console answered unexpectedly; your session may have expired. Reload the page.");
    return body;
  }

  /** {token, key, multipart, part_size, part_count, put?: {url, headers}} */
  start(fields) {
    return this.postJSON(this.urls.start, fields);
  }

  /** {"<number>": presigned UploadPart URL} */
  async partUrls(token, parts) {
    return (await this.postJSON(this.urls.parts, { token, parts })).urls;
  }

  complete(token, parts, method) {
    return this.postJSON(this.urls.complete, { token, parts, method });
  }

  abort(token) {
    return this.postJSON(this.urls.abort, { token });
  }

  /** The fallback: one part through the console; answers {part, etag}. */
  sendPart(token, number, blob, progress) {
    return this.sendBytes(`${this.urls.part}?part=${number}`, token, blob, progress);
  }

  /** The fallback for a file smaller than a part: the whole file, stored and audited by the console. */
  putWhole(token, blob, progress) {
    return this.sendBytes(this.urls.put, token, blob, progress);
  }

  async sendBytes(url, token, blob, { onProgress, track }) {
    const headers = { "Content-Type": "application/octet-stream", "X-CSRFToken": this.csrf, "X-Upload-Token": token };
    const xhr = await send("POST", url, blob, { headers, onProgress, track });
    const body = parseJSON(xhr.responseText);
    if (!succeeded(xhr) || !body) {
      // 400: the part arrived incomplete (a dropped connection); worth sending again.
      throw new UploadError(body?.error || statusMessage(xhr.status), {
        status: xhr.status,
        retry: xhr.status >= 500 || xhr.status === 400,
      });
    }
    return body;
  }
}
