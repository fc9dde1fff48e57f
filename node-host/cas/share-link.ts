// Share links: `peershare://<64-hex content id>#k=<base64url manifest key>` for private shares and
// `peershare://<64-hex content id>` for public ones. The key sits in the fragment so that tools which
// log or forward URLs without their fragment do not leak it.

import { KEY_BYTES } from "./convergent-crypto";
import { CasError } from "./errors";

export const LINK_SCHEME = "peershare://";

export interface ShareLink {
  /** 64 lowercase hex characters. */
  contentId: string;
  /** The manifest key (private shares), or null. */
  key: Buffer | null;
}

export function formatShareLink(contentId: string, key: Buffer | null): string {
  if (!/^[0-9a-f]{64}$/.test(contentId)) throw new TypeError("a content id is 64 lowercase hex characters");
  return key ? `${LINK_SCHEME}${contentId}#k=${key.toString("base64url")}` : `${LINK_SCHEME}${contentId}`;
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
  return { contentId: idPart.toLowerCase(), key: hash < 0 ? null : parseFragmentKey(rest.slice(hash + 1)) };
}

function parseFragmentKey(fragment: string): Buffer | null {
  if (fragment === "") return null;
  const match = /^k=([A-Za-z0-9_-]+)$/.exec(fragment);
  if (!match) throw badLink('link fragment must be "k=<base64url key>"');
  const key = Buffer.from(match[1], "base64url");
  if (key.length !== KEY_BYTES || key.toString("base64url") !== match[1]) {
    throw badLink(`link key must be ${KEY_BYTES} bytes in base64url`);
  }
  return key;
}

function badLink(message: string): CasError {
  return new CasError("EBADLINK", message);
}

function abbreviate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
