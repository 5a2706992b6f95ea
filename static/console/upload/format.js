// Sizes and counts as the rest of the console writes them (console/sizes.py, the templates' "size"
// filter): 1024 steps labelled as such, one decimal, "KiB", "MiB", "GiB".

const UNITS = ["KiB", "MiB", "GiB", "TiB", "PiB"];

/** 1536 → "1.5 KiB"; 1 → "1 byte". */
export function humanSize(bytes) {
  if (bytes < 1024) return `${Math.round(bytes)} ${bytes === 1 ? "byte" : "bytes"}`;
  let value = bytes;
  for (const unit of UNITS) {
    value /= 1024;
    if (value < 1024 || unit === "PiB") return `${value.toFixed(1)} ${unit}`;
  }
  return "";
}

/** 1 → "1 file", 3 → "3 files". */
export const count = (n, word) => `${n.toLocaleString("en-US")} ${n === 1 ? word : `${word}s`}`;

// The content type a file gets when the user does not set one (the console stores what it is told).
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

export function guessType(name) {
  const dot = name.lastIndexOf(".");
  const ext = dot >= 0 ? name.slice(dot + 1).toLowerCase() : "";
  return TYPES[ext] || "application/octet-stream";
}
