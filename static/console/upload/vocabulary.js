// S3's limits as the server hands them over: buckets/vocabulary.py:browser_vocabulary(), rendered
// into the panel with json_script. Never copied here. The server stays authoritative; these checks
// only spare the user requests that would be refused, so they mirror the server's rules exactly and
// never refuse what the server would take.

import { humanSize } from "./format.js";

const encoder = new TextEncoder();

/** UTF-8 byte length, as S3 counts key bytes. */
export const utf8Length = (text) => encoder.encode(text).length;

const number = (n) => n.toLocaleString("en-US");

/**
 * The limits of the panel element, from its json_script element (<script type="application/json"
 * id="upload-vocabulary">), which sits inside <template data-upload-vocabulary> so that htmx, which
 * removes every <script> it swaps in, leaves it alone.
 */
export function readVocabulary(panelEl) {
  const source = panelEl.querySelector("template[data-upload-vocabulary]")?.content.getElementById("upload-vocabulary");
  if (!source) throw new Error("The upload panel has no #upload-vocabulary data.");
  return Object.freeze(JSON.parse(source.textContent));
}

/** Why the console would refuse this object key (as buckets/upload.py:validate_key does), or "". */
export function keyProblem(key, vocabulary) {
  if (!key) return "The object key is empty.";
  if (utf8Length(key) > vocabulary.maxKeyBytes) {
    return `The object key is longer than ${number(vocabulary.maxKeyBytes)} bytes (UTF-8).`;
  }
  if (key.isWellFormed && !key.isWellFormed()) return "The object key is not valid text.";
  return "";
}

/** Why the console would refuse a file of this size (the start form's limit), or "". */
export function sizeProblem(size, vocabulary) {
  if (size > vocabulary.maxObjectSize) {
    return `The file is larger than ${humanSize(vocabulary.maxObjectSize)}, the most S3 keeps in one object.`;
  }
  return "";
}

/** Why this file cannot be uploaded under this key, before anything is sent, or "". */
export const fileProblem = (key, size, vocabulary) => keyProblem(key, vocabulary) || sizeProblem(size, vocabulary);

const characters = (text) => [...text].length; // code points, as Python's len()

/**
 * The size limits the metadata and tag rows break, one sentence each ([] when they fit). Rows with an
 * empty name are skipped, as the server skips them. Character rules and duplicates are left to the
 * server, which says which row is wrong.
 */
export function optionProblems({ metadata, tags }, vocabulary) {
  const problems = [];
  const named = (rows) => rows.filter(([name]) => name.trim());
  const metaBytes = named(metadata).reduce(
    (sum, [name, value]) => sum + utf8Length(name.trim().toLowerCase()) + utf8Length(value),
    0,
  );
  if (metaBytes > vocabulary.maxMetadataBytes) {
    problems.push(
      `User metadata may hold at most ${number(vocabulary.maxMetadataBytes)} bytes (names and values); ` +
        `these rows have ${number(metaBytes)}.`,
    );
  }
  const tagRows = named(tags);
  if (tagRows.length > vocabulary.maxObjectTags) {
    problems.push(`An object may have at most ${vocabulary.maxObjectTags} tags; there are ${tagRows.length}.`);
  }
  for (const [name, value] of tagRows) {
    const key = name.trim();
    const shown = key.length > 40 ? `${key.slice(0, 40)}…` : key;
    if (characters(key) > vocabulary.maxTagKey) {
      problems.push(`The tag key “${shown}” is longer than ${vocabulary.maxTagKey} characters.`);
    }
    if (characters(value) > vocabulary.maxTagValue) {
      problems.push(`The value of the tag “${shown}” is longer than ${vocabulary.maxTagValue} characters.`);
    }
  }
  return problems;
}
