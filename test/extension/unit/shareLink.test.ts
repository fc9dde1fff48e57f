import { test } from "node:test";
import assert from "node:assert/strict";
import { contentRefOfUri, contentUriParts, findLinks, folderUriParts, formatLink, LINK_PATTERN, parseContentUri, parseLinkOrId, safeName } from "../../../extension/shareLink";

const ID = "0123456789abcdef".repeat(4);
const KEY = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde"; // 43 chars = 32 bytes base64url

test("parseLinkOrId: private and public links, bare IDs, editor URIs", () => {
  assert.deepEqual(parseLinkOrId(`peershare://${ID}#k=${KEY}`), { contentId: ID, key: KEY });
  assert.deepEqual(parseLinkOrId(`  peershare://${ID}  `), { contentId: ID });
  assert.deepEqual(parseLinkOrId(`peershare://${ID.toUpperCase()}/`), { contentId: ID });
  assert.deepEqual(parseLinkOrId(ID.toUpperCase()), { contentId: ID });
  assert.deepEqual(parseLinkOrId(`<peershare://${ID}#k=${KEY}>`), { contentId: ID, key: KEY });
  assert.deepEqual(parseLinkOrId(`peershare:/${ID}/notes.md?k=${KEY}`), { contentId: ID, key: KEY });
  assert.equal(parseLinkOrId(`peershare://${ID.slice(1)}`), undefined);
  assert.equal(parseLinkOrId(`peershare://${ID}#key=${KEY}`), undefined);
  assert.equal(parseLinkOrId(`peershare://${ID}#k=short`), undefined);
  assert.equal(parseLinkOrId(`https://example.org/${ID}`), undefined);
  assert.equal(parseLinkOrId(""), undefined);
});

test("links with address hints: kept whole, so the node can find the sharer", () => {
  const HINTS = "AQ" + "x".repeat(60);
  assert.deepEqual(parseLinkOrId(`peershare://${ID}#k=${KEY}&h=${HINTS}`), { contentId: ID, key: KEY, hints: HINTS });
  assert.deepEqual(parseLinkOrId(`peershare://${ID}#h=${HINTS}`), { contentId: ID, hints: HINTS });
  assert.equal(parseLinkOrId(`peershare://${ID}#k=${KEY}&`), undefined);
  assert.equal(parseLinkOrId(`peershare://${ID}#h=${HINTS}&k=${KEY}`), undefined);
  for (const ref of [{ contentId: ID, key: KEY, hints: HINTS }, { contentId: ID, hints: HINTS }]) assert.deepEqual(parseLinkOrId(formatLink(ref)), ref);
  const uri = contentUriParts({ contentId: ID, key: KEY, hints: HINTS }, "a.txt");
  assert.deepEqual(parseContentUri(uri), { contentId: ID, name: "a.txt", path: "a.txt", key: KEY, hints: HINTS });
  // a shared folder's URI, and a file's in it, carry them too: the Explorer lists and opens through them
  const folder = folderUriParts({ contentId: ID, key: KEY, hints: HINTS }, "src/a.txt");
  assert.equal(folder.query, `k=${KEY}&h=${HINTS}`);
  assert.deepEqual(parseContentUri(folder), { contentId: ID, name: "a.txt", path: "src/a.txt", key: KEY, hints: HINTS });
  const text = `get peershare://${ID}#k=${KEY}&h=${HINTS} now`;
  assert.equal(findLinks(text)[0].link, `peershare://${ID}#k=${KEY}&h=${HINTS}`);
  // a pasted editor URI keeps them too
  assert.deepEqual(parseLinkOrId(`peershare:/${ID}/a.txt?k=${KEY}&h=${HINTS}`), { contentId: ID, key: KEY, hints: HINTS });
});

test("contentRefOfUri: the folder's ID, key and hints, so its paths' URIs carry the folder's query whole", () => {
  const HINTS = "AQ" + "x".repeat(60);
  const root = folderUriParts({ contentId: ID, key: KEY, hints: HINTS });
  const ref = contentRefOfUri(root);
  assert.deepEqual(ref, { contentId: ID, key: KEY, hints: HINTS });
  // (VS Code places a URI in a workspace folder only when the query is the folder's)
  assert.equal(folderUriParts(ref!, "src/main.ts").query, root.query);
  assert.deepEqual(contentRefOfUri(folderUriParts({ contentId: ID, key: KEY }, "a/b.txt")), { contentId: ID, key: KEY });
  assert.deepEqual(contentRefOfUri({ path: `/${ID}/a.txt`, query: "" }), { contentId: ID });
  assert.equal(contentRefOfUri({ path: "/nothex", query: "" }), undefined);
});

test("formatLink round-trips through parseLinkOrId", () => {
  assert.equal(formatLink({ contentId: ID, key: KEY }), `peershare://${ID}#k=${KEY}`);
  assert.equal(formatLink({ contentId: ID }), `peershare://${ID}`);
  for (const ref of [{ contentId: ID, key: KEY }, { contentId: ID }]) assert.deepEqual(parseLinkOrId(formatLink(ref)), ref);
});

test("editor URIs: /<id>/<name>?k=<key>, the name last so the tab shows it", () => {
  const parts = contentUriParts({ contentId: ID, key: KEY }, "report.json");
  assert.deepEqual(parts, { scheme: "peershare", path: `/${ID}/report.json`, query: `k=${KEY}` });
  assert.deepEqual(parseContentUri(parts), { contentId: ID, name: "report.json", path: "report.json", key: KEY });
  assert.deepEqual(contentUriParts({ contentId: ID }, "logo.png").query, "");
  assert.deepEqual(parseContentUri({ path: `/${ID}/logo.png`, query: "" }), { contentId: ID, name: "logo.png", path: "logo.png" });
  assert.deepEqual(parseContentUri({ path: `/${ID}`, query: "" }), { contentId: ID });
  assert.deepEqual(parseContentUri({ path: `/${ID}/a b (1).txt`, query: `x=1&k=${KEY}` }), { contentId: ID, name: "a b (1).txt", path: "a b (1).txt", key: KEY });
  assert.equal(parseContentUri({ path: "/nothex/a.txt", query: "" }), undefined);
  assert.equal(parseContentUri({ path: `/${ID}//b.txt`, query: "" }), undefined, "no empty segment");
});

test("folder URIs: the folder at /<id>, its files and folders below it, the key in the query", () => {
  const root = folderUriParts({ contentId: ID, key: KEY });
  assert.deepEqual(root, { scheme: "peershare", path: `/${ID}`, query: `k=${KEY}` });
  assert.deepEqual(parseContentUri(root), { contentId: ID, key: KEY });
  const deep = folderUriParts({ contentId: ID, key: KEY }, "docs/api/ñame é.md");
  assert.equal(deep.path, `/${ID}/docs/api/ñame é.md`);
  assert.deepEqual(parseContentUri(deep), { contentId: ID, key: KEY, path: "docs/api/ñame é.md", name: "ñame é.md" });
  assert.deepEqual(parseContentUri({ path: `/${ID}/docs/`, query: "" }), { contentId: ID, path: "docs", name: "docs" });
});

test("safeName keeps the extension, drops separators, falls back to the ID", () => {
  assert.equal(safeName("notes.md", ID), "notes.md");
  assert.equal(safeName("../etc/passwd", ID), ".._etc_passwd");
  assert.equal(safeName("a\\b.txt", ID), "a_b.txt");
  assert.equal(safeName("", ID), ID.slice(0, 12));
  assert.equal(safeName(null, ID), ID.slice(0, 12));
  assert.equal(safeName("..", ID), ID.slice(0, 12));
  assert.equal(safeName("a\u0000b\u001f.txt\u007f", ID), "ab.txt");
  assert.equal(contentUriParts({ contentId: ID }, "dir/x.txt").path, `/${ID}/dir_x.txt`);
});

test("link detection in text: positions, with and without key, not inside longer hex", () => {
  const text = `See peershare://${ID}#k=${KEY}, or the public peershare://${ID}.\nNot: peershare://${ID}ff nor peershare://abc`;
  const found = findLinks(text);
  assert.equal(found.length, 2);
  assert.equal(text.slice(found[0].start, found[0].end), `peershare://${ID}#k=${KEY}`);
  assert.deepEqual(found[0].ref, { contentId: ID, key: KEY });
  assert.equal(text.slice(found[1].start, found[1].end), `peershare://${ID}`);
  assert.deepEqual(found[1].ref, { contentId: ID });
  assert.deepEqual(findLinks("no links here"), []);
  // the pattern is global: reusable across calls without stale lastIndex
  assert.equal(findLinks(text).length, 2);
  assert.ok(LINK_PATTERN.global);
  assert.equal(findLinks(`"peershare://${ID}#k=${KEY}"`)[0].link, `peershare://${ID}#k=${KEY}`);
  assert.equal(findLinks(`[x](peershare://${ID})`)[0].link, `peershare://${ID}`);
});
