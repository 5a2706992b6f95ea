// Uploads from the object list: straight from the browser to S3 with presigned URLs (multipart for
// big files), or, when the bucket has no CORS rule for this console, through the console one part
// at a time. Loaded with <script type="module"> (no build step, no inline script: CSP).
//
//   states.js      the states of one file, one frozen enum
//   vocabulary.js  S3's limits as the server hands them over (json_script in the panel)
//   transport.js   requests: the console's JSON endpoints, S3, retries
//   job.js         one file's upload and a batch of them (no DOM)
//   panel.js       the panel: staging, rows, progress, summary, focus
//   dropzone.js    drag and drop, the file and folder pickers
//
// A module runs once per page however often it is included, and every listener sits on the
// document: the panel arrives by htmx after this runs, and may be swapped again, without rebinding.
import { installDropzone } from "./dropzone.js";
import { anyBusy, installPanel } from "./panel.js";

installPanel();
installDropzone();

window.addEventListener("beforeunload", (event) => {
  if (anyBusy()) event.preventDefault(); // leaving now would cut the uploads off
});
