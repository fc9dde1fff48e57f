// The name a fetched file gets on this machine. A shared file's name travels in its manifest as the
// sharer's machine called it (cas/file-name.ts: one path component, nothing that can escape a
// folder). Linux and macOS can store every such name; Windows cannot store some, and others mean
// something else there: "a:b" writes an alternate data stream of "a", "CON" or "nul.txt" is a device,
// a trailing dot or space is dropped, and <>"|?* are refused. So on Windows such a name is changed
// into one that is stored as it reads: each of those characters becomes "_", trailing dots and spaces
// go, and a device name gets a "_" in front. Elsewhere the name is kept as it is.

/** Characters Windows does not allow in a file name (besides / \ and control characters, which no safe name has). */
const WINDOWS_FORBIDDEN = /[<>:"|?*]/g;
/** Device names, with or without an extension, in any case. */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/** The local file name for a (safe) manifest name on `platform`. */
export function localFileName(name: string, platform: NodeJS.Platform = process.platform): string {
  if (platform !== "win32") return name;
  let local = name.replace(WINDOWS_FORBIDDEN, "_").replace(/[. ]+$/, "");
  if (local === "") local = "file";
  if (WINDOWS_DEVICE.test(local)) local = `_${local}`;
  return local;
}
