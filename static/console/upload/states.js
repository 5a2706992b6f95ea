// The states one file's upload goes through, in order. Every module compares against these names,
// never against string literals; the values also appear on each row as data-state (CSS, tests).
export const State = Object.freeze({
  QUEUED: "queued", // waiting for a free slot
  STARTING: "starting", // the console starts it: CreateMultipartUpload, or a presigned PUT for a small file
  UPLOADING: "uploading", // bytes on their way, part by part
  COMPLETING: "completing", // the console completes it and checks what S3 holds
  DONE: "done",
  FAILED: "failed",
  CANCELLED: "cancelled",
});

const FINAL = [State.DONE, State.FAILED, State.CANCELLED];

/** A state no file leaves again. */
export const isFinal = (state) => FINAL.includes(state);
