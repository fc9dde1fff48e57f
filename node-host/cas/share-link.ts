// Share links: `peershare://<64-hex content id>#k=<base64url manifest key>` for private shares and
// `peershare://<64-hex content id>` for public ones, optionally with address hints for a node that
// knows nobody yet (first-contact/hints.ts): `…#k=<key>&h=<hints>`, `…#h=<hints>`. The key and the
// hints sit in the fragment so that tools which log or forward URLs without their fragment leak
// neither.
//
// A node of the release before hints refuses a link with them ('link fragment must be
// "k=<base64url key>"'): dropping everything from `&h=` (or sharing with --no-hints) gives it a
// link it reads.

import { KEY_BYTES } from "./convergent-crypto";
import { CasError } from "./errors";
import { decodeHints, HintError, Hints } from "../first-contact/hints";

export const LINK_SCHEME = "peershare://";

export interface ShareLink {
  /** 64 lowercase hex characters. */
  contentId: string;
  /** The manifest key (private shares), or null. */
  key: Buffer | null;
  /** Where the sharer may be found (null: the link carries none). */
  hints: Hints | null;
}

/** A link; `hints` is the encoded hint text (first-contact/hints.ts), when the link is to carry them. */
export function formatShareLink(contentId: string, key: Buffer | null, hints?: string | null): string {
  if (!/^[0-9a-f]{64}$/.test(contentId)) throw new TypeError("a content id is 64 lowercase hex characters");
  const parts = [...(key ? [`k=${key.toString("base64url")}`] : []), ...(hints ? [`h=${hints}`] : [])];
  return `${LINK_SCHEME}${contentId}${parts.length ? `#${parts.join("&")}` : ""}`;
}

/** The link without its hints (what is kept and shown once the hints may be stale). */
export function withoutHints(link: ShareLink): string {
  return formatShareLink(link.contentId, link.key);
}

/** Accepts a share link or a bare 64-hex content id (surrounding whitespace ignored). */
export function parseShareLink(text: string): ShareLink {
  const input = text.trim();
  let rest = input;
  if (input.toLowerCase().startsWith(LINK_SCHEME)) rest = input.slice(LINK_SCHEME.length);
  else if (input.includes(":")) throw badLink(`not a peershare link (expected ${LINK_SCHEME}...): ${abbreviate(input)}`);
  const hash = rest.indexOf("#");
  const idPart = (hash < 0 ? rest : rest.slice(0, hash)).replace(/\/$/, "");
  if (!/^[0-9a-fA-F]{64}$/.test(idPart)) {
    throw badLink(`content id must be 64 hex characters, got ${JSON.stringify(abbreviate(idPart))}`);
  }
  const fragment = hash < 0 ? new Map<string, string>() : fragmentParts(rest.slice(hash + 1));
  const key = fragment.has("k") ? parseKey(fragment.get("k")!) : null;
  return { contentId: idPart.toLowerCase(), key, hints: fragment.has("h") ? parseHints(fragment.get("h")!) : null };
}

/** The fragment's parts: k=<key> and h=<hints>, each at most once, in that order. */
function fragmentParts(fragment: string): Map<string, string> {
  const parts = new Map<string, string>();
  if (fragment === "") return parts;
  for (const part of fragment.split("&")) {
    const m = /^([kh])=(.*)$/.exec(part);
    if (!m || parts.has(m[1]) || (m[1] === "k" && parts.has("h"))) throw badLink('link fragment must be "k=<base64url key>", "h=<address hints>" or both, joined by "&"');
    parts.set(m[1], m[2]);
  }
  return parts;
}

function parseKey(text: string): Buffer {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw badLink('link fragment must be "k=<base64url key>"');
  const key = Buffer.from(text, "base64url");
  if (key.length !== KEY_BYTES || key.toString("base64url") !== text) {
    throw badLink(`link key must be ${KEY_BYTES} bytes in base64url`);
  }
  return key;
}

function parseHints(text: string): Hints {
  try {
    return decodeHints(text);
  } catch (err) {
    if (err instanceof HintError) throw badLink(`the link's address hints (h=…) are unusable: ${err.message}`);
    throw err;
  }
}

function badLink(message: string): CasError {
  return new CasError("EBADLINK", message);
}

function abbreviate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
