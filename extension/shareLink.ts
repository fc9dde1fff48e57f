// Share links and the `peershare:` URIs of the editor's read-only file system. Pure: no VS Code API,
// so it is unit-tested directly.
//
//   share link   peershare://<64 hex content id>#k=<base64url key>   (private share)
//                peershare://<64 hex content id>                     (public share)
//                either with "&h=<hints>" (or "#h=<hints>") after it: where the sharer may be found
//   editor URI   peershare:/<content id>/<file name>?k=<key>[&h=<hints>]            (a shared file)
//                peershare:/<content id>/<path in the folder>?k=<key>[&h=<hints>]  (a file or folder of a
//                shared folder; peershare:/<content id>?k=<key>[&h=<hints>] is the folder itself, a workspace folder)
//
// The editor URI carries the file name as its last path segment, so the tab title, the language
// mode and the editor (text, image preview, binary) follow the name; the key rides in the query so
// that it survives VS Code's round trips of the URI (tabs restored after a reload, history), and the
// Explorer keeps it on every child it builds from a workspace folder's URI.

export const SCHEME = "peershare";
export const LINK_PREFIX = "peershare://";

export interface ContentRef {
  /** 64 lowercase hex digits. */
  contentId: string;
  /** The base64url manifest key of a private share; undefined for a public one. */
  key?: string;
  /** The link's address hints (base64url, checked by the node), if it carries any. */
  hints?: string;
}

export interface ContentUriParts {
  scheme: typeof SCHEME;
  /** `/<content id>/<name>` */
  path: string;
  /** `k=<key>`, `h=<hints>`, both joined by "&", or "" */
  query: string;
}

const HEX64 = /^[0-9a-fA-F]{64}$/;
const KEY = /^[A-Za-z0-9_-]{16,128}$/;
const HINTS = /^[A-Za-z0-9_-]{1,400}$/;

/** Share links inside any text: `peershare://` + 64 hex digits + an optional `#k=<key>`, `#k=<key>&h=<hints>` or `#h=<hints>` fragment. */
export const LINK_PATTERN = /peershare:\/\/[0-9a-fA-F]{64}(?:#(?:k=[A-Za-z0-9_-]+(?:&h=[A-Za-z0-9_-]+)?|h=[A-Za-z0-9_-]+))?(?![0-9A-Za-z_-])/g;

/** The key and hints parts (`k=…`, `h=…`) of a link fragment or an editor URI's query. */
function refParts(ref: ContentRef): string {
  return [...(ref.key ? [`k=${ref.key}`] : []), ...(ref.hints ? [`h=${ref.hints}`] : [])].join("&");
}

export function formatLink(ref: ContentRef): string {
  const parts = refParts(ref);
  return `${LINK_PREFIX}${ref.contentId}${parts ? `#${parts}` : ""}`;
}

/**
 * Reads what a user pastes: a share link, a bare content ID (public shares), or an editor URI
 * (`peershare:/<id>/<name>?k=<key>`). Undefined when it is none of these.
 */
export function parseLinkOrId(text: string): ContentRef | undefined {
  let s = text.trim().replace(/^[<"'(]+|[>"')]+$/g, "");
  if (HEX64.test(s)) return { contentId: s.toLowerCase() };
  if (s.toLowerCase().startsWith(LINK_PREFIX)) {
    s = s.slice(LINK_PREFIX.length);
    const hash = s.indexOf("#");
    const id = (hash < 0 ? s : s.slice(0, hash)).replace(/\/$/, "");
    if (!HEX64.test(id)) return undefined;
    if (hash < 0 || hash === s.length - 1) return { contentId: id.toLowerCase() };
    const m = /^(?:k=([A-Za-z0-9_-]+)(?:&h=([A-Za-z0-9_-]+))?|h=([A-Za-z0-9_-]+))$/.exec(s.slice(hash + 1));
    const [key, hints] = [m?.[1], m?.[2] ?? m?.[3]];
    if (!m || (key !== undefined && !KEY.test(key)) || (hints !== undefined && !HINTS.test(hints))) return undefined;
    return { contentId: id.toLowerCase(), ...(key ? { key } : {}), ...(hints ? { hints } : {}) };
  }
  if (s.toLowerCase().startsWith(`${SCHEME}:`)) {
    const rest = s.slice(SCHEME.length + 1);
    const q = rest.indexOf("?");
    return contentRefOfUri({ path: q < 0 ? rest : rest.slice(0, q), query: q < 0 ? "" : rest.slice(q + 1) });
  }
  return undefined;
}

/** A file name that is safe as one URI path segment and still tells VS Code the file's type. */
export function safeName(name: string | null | undefined, contentId: string): string {
  const cleaned = [...(name ?? "").replace(/[\\/]/g, "_")]
    .filter((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f)
    .join("")
    .trim();
  return cleaned && cleaned !== "." && cleaned !== ".." ? cleaned : contentId.slice(0, 12);
}

/** Components of the editor URI of a shared file (for vscode.Uri.from). */
export function contentUriParts(ref: ContentRef, name: string | null | undefined): ContentUriParts {
  return { scheme: SCHEME, path: `/${ref.contentId}/${safeName(name, ref.contentId)}`, query: refParts(ref) };
}

/** Components of the URI of a shared folder (`rel` empty or absent) or of a path in it. */
export function folderUriParts(ref: ContentRef, rel = ""): ContentUriParts {
  return { scheme: SCHEME, path: `/${ref.contentId}${rel ? `/${rel}` : ""}`, query: refParts(ref) };
}

/** What an editor URI names: the content, its key, and the path after the ID (a file's name, or a path in a folder). */
export interface ContentUriRef extends ContentRef {
  /** The last path segment (a shared file's name). */
  name?: string;
  /** Every segment after the ID, joined with "/" (a path in a shared folder). */
  path?: string;
}

/** The content ID, path and key of an editor URI's path and query; undefined when it is not one. */
export function parseContentUri(uri: { path: string; query: string }): ContentUriRef | undefined {
  const m = /^\/?([0-9a-fA-F]{64})((?:\/[^/]+)*)\/?$/.exec(uri.path);
  if (!m) return undefined;
  const ref: ContentUriRef = { contentId: m[1].toLowerCase() };
  if (m[2]) {
    ref.path = m[2].slice(1);
    ref.name = ref.path.slice(ref.path.lastIndexOf("/") + 1);
  }
  for (const part of uri.query.split("&")) {
    const [k, v] = part.split("=");
    if (k === "k" && v && KEY.test(v)) ref.key = v;
    if (k === "h" && v && HINTS.test(v)) ref.hints = v;
  }
  return ref;
}

/**
 * The content an editor URI names, without the path in it: its ID, key and address hints. URIs built
 * from it for paths in a shared folder carry the same query as the folder's own URI, which VS Code
 * needs to place them in that workspace folder.
 */
export function contentRefOfUri(uri: { path: string; query: string }): ContentRef | undefined {
  const ref = parseContentUri(uri);
  return ref && { contentId: ref.contentId, ...(ref.key ? { key: ref.key } : {}), ...(ref.hints ? { hints: ref.hints } : {}) };
}

export interface FoundLink {
  start: number;
  end: number;
  link: string;
  ref: ContentRef;
}

/** The share links in a text, with their offsets. */
export function findLinks(text: string): FoundLink[] {
  const out: FoundLink[] = [];
  for (const m of text.matchAll(LINK_PATTERN)) {
    const ref = parseLinkOrId(m[0]);
    if (ref) out.push({ start: m.index, end: m.index + m[0].length, link: m[0], ref });
  }
  return out;
}
