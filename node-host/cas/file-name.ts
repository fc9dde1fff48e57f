// File names that travel inside manifests. A name is a single path component that can never escape
// the directory a file is assembled into: no separators, no "." or "..", no NUL or other control
// characters, no unpaired UTF-16 surrogates, not empty, at most 255 UTF-8 bytes.

export const MAX_NAME_BYTES = 255;

const FORBIDDEN = /[/\\\x00-\x1f\x7f]/; // eslint-disable-line no-control-regex
// A UTF-16 surrogate without its partner: no UTF-8 encoding, so the name would change on the wire.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, "g");

export function isSafeFileName(name: string): boolean {
  return (
    name.length > 0 &&
    name !== "." &&
    name !== ".." &&
    !FORBIDDEN.test(name) &&
    !LONE_SURROGATE.test(name) &&
    name.trim() === name &&
    Buffer.byteLength(name) <= MAX_NAME_BYTES
  );
}

/** Makes a safe name out of whatever the local file is called (used when sharing). */
export function sanitizeFileName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? "";
  let safe = base.replace(/[\x00-\x1f\x7f]/g, "_").replace(LONE_SURROGATES, "\ufffd").trim(); // eslint-disable-line no-control-regex
  if (Buffer.byteLength(safe) > MAX_NAME_BYTES) {
    // keep the longest prefix of whole characters that fits, in one pass (cutting one character at a
    // time took quadratic time: minutes for a 30,000-character name), then trim what the cut exposed
    let bytes = 0;
    let end = 0;
    for (const ch of safe) {
      bytes += Buffer.byteLength(ch);
      if (bytes > MAX_NAME_BYTES) break;
      end += ch.length;
    }
    safe = safe.slice(0, end).trim();
  }
  return isSafeFileName(safe) ? safe : "file";
}
