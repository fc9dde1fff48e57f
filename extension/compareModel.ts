// Compare Shared File with Local File: which local files to offer, and the diff editor's title. Pure.
import { shortId } from "./format";

/** A glob matching a file of exactly this name anywhere in the workspace (glob characters escaped). */
export function sameNameGlob(name: string): string {
  return `**/${name.replace(/[[\]{}*?!]/g, (c) => `[${c}]`)}`;
}

export interface LocalCandidate {
  path: string;
  /** Why it is offered: it is the file the share was made from, or it has the shared file's name. */
  reason: "source" | "same-name";
}

/**
 * The local files to offer, best first: the file the share was made from (when known and still
 * there), then workspace files of the same name (shallowest path first), without duplicates.
 */
export function localCandidates(sourcePath: string | undefined, sameName: readonly string[]): LocalCandidate[] {
  const out: LocalCandidate[] = [];
  const seen = new Set<string>();
  if (sourcePath) {
    out.push({ path: sourcePath, reason: "source" });
    seen.add(sourcePath);
  }
  const depth = (p: string) => p.split(/[\\/]/).length;
  for (const p of [...sameName].sort((a, b) => depth(a) - depth(b) || a.localeCompare(b))) {
    if (seen.has(p)) continue;
    seen.add(p);
    out.push({ path: p, reason: "same-name" });
  }
  return out;
}

/** "notes.md (shared 3fa1b2c4…) ↔ notes.md": the shared file on the left, the local one on the right. */
export function compareTitle(sharedName: string, contentId: string, localName: string): string {
  return `${sharedName} (shared ${shortId(contentId, 8)}) ↔ ${localName}`;
}
