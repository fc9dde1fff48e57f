// Media type by file extension: a small table of what teams commonly share; anything else is
// application/octet-stream.

import * as path from "node:path";

const BY_EXTENSION: Record<string, string> = {
  ".txt": "text/plain",
  ".md": "text/markdown",
  ".csv": "text/csv",
  ".html": "text/html",
  ".css": "text/css",
  ".js": "text/javascript",
  ".ts": "text/x-typescript",
  ".json": "application/json",
  ".xml": "application/xml",
  ".yaml": "application/yaml",
  ".yml": "application/yaml",
  ".pdf": "application/pdf",
  ".zip": "application/zip",
  ".gz": "application/gzip",
  ".tar": "application/x-tar",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".svg": "image/svg+xml",
  ".mp3": "audio/mpeg",
  ".wav": "audio/wav",
  ".mp4": "video/mp4",
  ".webm": "video/webm",
};

export const DEFAULT_MEDIA_TYPE = "application/octet-stream";

export function mediaTypeFor(fileName: string): string {
  return BY_EXTENSION[path.extname(fileName).toLowerCase()] ?? DEFAULT_MEDIA_TYPE;
}

/** What a decoder accepts: type/subtype in printable ASCII, no spaces, bounded. */
export function isValidMediaType(value: string): boolean {
  return value.length <= 127 && /^[a-z0-9][\w.+-]*\/[a-z0-9][\w.+-]*$/i.test(value);
}
