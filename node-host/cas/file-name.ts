// File names that travel inside manifests. A name is a single path component that can never escape
// the directory a file is assembled into: no separators, no "." or "..", no NUL or other control
// characters, not empty, at most 255 UTF-8 bytes.

export const MAX_NAME_BYTES = 255;

const FORBIDDEN = /[/\\\x00-\x1f\x7f]/; // eslint-disable-line no-control-regex

export function isSafeFileName(name: string): boolean {
  return (
    name.length > 0 &&
    name !== "." &&
    name !== ".." &&
    !FORBIDDEN.test(name) &&
    name.trim() === name &&
    Buffer.byteLength(name) <= MAX_NAME_BYTES
  );
}

/** Makes a safe name out of whatever the local file is called (used when sharing). */
export function sanitizeFileName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? "";
  let safe = base.replace(/[\x00-\x1f\x7f]/g, "_").trim(); // eslint-disable-line no-control-regex
  while (Buffer.byteLength(safe) > MAX_NAME_BYTES) safe = Array.from(safe).slice(0, -1).join("");
  return isSafeFileName(safe) ? safe : "file";
}
