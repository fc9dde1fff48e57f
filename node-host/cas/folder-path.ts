// Paths inside a shared folder, as folder manifests carry them: "/"-separated and relative
// ("docs/intro.md"). A fetch writes each one under its target directory, so a path must never be able
// to name anything outside it, on any system a teammate may fetch on. Checked the same way everywhere
// (a manifest made on Linux is fetched on Windows and macOS too):
//
//   - no empty, "." or ".." component; not absolute; no "\" (a separator on Windows);
//   - no ":" (a drive letter "C:", an NTFS stream "name:stream"), no NUL or other control character;
//   - no Windows device name as a component (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with any extension:
//     writing "nul.txt" there writes to the device);
//   - no component ending in "." or " " (Windows drops them, so "a." would land on "a");
//   - at most MAX_COMPONENT_BYTES per component, MAX_FOLDER_DEPTH components, MAX_PATH_BYTES in all.
//
// Case: on a case-insensitive file system (Windows, macOS by default) "Readme.md" and "README.md"
// are one file; CaseFolding finds such collisions so the later entry is refused, not written over the
// first. The sharer leaves out files whose names would be refused (folder-walk.ts), so a folder shared
// by peershare always fetches whole.

export const MAX_COMPONENT_BYTES = 255;
export const MAX_FOLDER_DEPTH = 64;
export const MAX_PATH_BYTES = 4096;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;
const DEVICE_NAME = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\s*\..*)?$/i;

/** Why one file or directory name is not portable (could not be written as itself everywhere); null when it is fine. */
export function nameProblem(name: string): string | null {
  if (name === "" || name === "." || name === "..") return `"${name}" is not a name`;
  if (name.includes("/") || name.includes("\\")) return "it contains a path separator";
  if (name.includes(":")) return 'it contains ":" (a drive letter or stream on Windows)';
  if (CONTROL.test(name)) return "it contains a control character";
  if (DEVICE_NAME.test(name)) return `"${name}" is a device name on Windows`;
  if (/[. ]$/.test(name)) return "it ends in a dot or a space (Windows drops them)";
  if (Buffer.byteLength(name) > MAX_COMPONENT_BYTES) return `it is longer than ${MAX_COMPONENT_BYTES} bytes`;
  return null;
}

/** Why a path from a folder manifest may not be written under the fetch's directory; null when it may. */
export function pathProblem(p: string): string | null {
  if (p === "") return "the path is empty";
  if (p.startsWith("/")) return "the path is absolute";
  if (Buffer.byteLength(p) > MAX_PATH_BYTES) return `the path is longer than ${MAX_PATH_BYTES} bytes`;
  const parts = p.split("/");
  if (parts.length > MAX_FOLDER_DEPTH) return `the path is more than ${MAX_FOLDER_DEPTH} levels deep`;
  for (const part of parts) {
    const problem = nameProblem(part);
    if (problem) return `${JSON.stringify(part)}: ${problem}`;
  }
  return null;
}

/** The form two paths share when a case-insensitive file system takes them for the same file. */
export function foldCase(p: string): string {
  return p.normalize("NFC").toLowerCase();
}

/**
 * Remembers paths as a case-insensitive file system sees them: add() returns the earlier path that
 * the new one would land on, or null. On a case-sensitive system nothing collides.
 */
export class CaseFolding {
  private readonly seen = new Map<string, string>();

  constructor(private readonly insensitive: boolean) {}

  add(p: string): string | null {
    if (!this.insensitive) return null;
    const key = foldCase(p);
    const earlier = this.seen.get(key);
    if (earlier !== undefined) return earlier;
    this.seen.set(key, p);
    return null;
  }
}
