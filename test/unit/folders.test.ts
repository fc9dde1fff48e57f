// Folder shares without a network: the folder manifest (round trip, parts, determinism, strictness),
// the path rules a fetch applies, the folder walk with its left-out list and safe publishing, and
// which manifests in a store are contents of their own.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { ContentStore, shareFile } from "../../node-host/cas";
import { CasError } from "../../node-host/cas/errors";
import { ConvergentKeys } from "../../node-host/cas/convergent-crypto";
import { assembleFolder, decodeFolderObject, encodeFolder, PART_TARGET_BYTES, type FolderEntry, type FolderListing } from "../../node-host/cas/folder-manifest";
import { CaseFolding, MAX_FOLDER_DEPTH, nameProblem, pathProblem } from "../../node-host/cas/folder-path";
import { contentObjects, manifestLinks } from "../../node-host/cas/manifest-links";
import { readFolder } from "../../node-host/cas/open-folder";
import { contentRoots } from "../../node-host/cas/content-roots";
import { shareFolder } from "../../node-host/cas/share-folder";
import { formatShareLink } from "../../node-host/cas/share-link";
import { MAX_MANIFEST_BYTES } from "../../node-host/cas/manifest";
import { leaveOutUnsafe, secretScreen, walkFolder } from "../../node-host/transfer/folder-walk";
import { tempDir } from "../helpers/temp-dir";
import { Prng } from "../fuzz/prng";
import { mutateMany } from "../fuzz/mutators";

const id = () => randomBytes(32);

/** A listing of `n` files with long names, each with a manifest and two chunks of its own. */
function listing(n: number, mode: "private" | "public" = "private"): FolderListing {
  const entries: FolderEntry[] = [{ kind: "dir", path: "d", size: 0, executable: false, manifestId: null, manifestKey: null }];
  const objectsOf = new Map<string, Buffer[]>();
  for (let i = 0; i < n; i++) {
    const manifestId = id();
    objectsOf.set(manifestId.toString("hex"), [manifestId, id(), id()]);
    entries.push({ kind: "file", path: `d/${"x".repeat(60)}-${i}.bin`, size: i, executable: i % 7 === 0, manifestId, manifestKey: mode === "private" ? id() : null });
  }
  const size = entries.reduce((s, e) => s + e.size, 0);
  return { summary: { name: "data set", files: n, dirs: 1, size }, mode, entries, objectsOf };
}

/** Encodes a listing and reads it back through readFolder, from a map of objects. */
async function roundTrip(l: FolderListing, keys: ConvergentKeys | null) {
  const { root, parts } = encodeFolder(l, keys);
  const objects = new Map([root, ...parts].map((o) => [o.id.toString("hex"), o.bytes]));
  const get = async (x: Buffer) => objects.get(x.toString("hex")) ?? Promise.reject(new Error("absent"));
  return { root, parts, folder: await readFolder(formatShareLink(root.id.toString("hex"), root.key), get), objects };
}

test("a folder manifest round-trips: every entry, sorted by path, with sizes, modes and keys; private names are sealed", async () => {
  const l = listing(50);
  l.entries.reverse(); // the encoder sorts
  const { root, parts, folder } = await roundTrip(l, new ConvergentKeys(randomBytes(32)));
  assert.equal(parts.length, 0, "a small folder is one object");
  assert.deepEqual(folder.summary, l.summary);
  assert.deepEqual(folder.entries.map((e) => e.path), [...l.entries].map((e) => e.path).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  const byPath = new Map(l.entries.map((e) => [e.path, e]));
  for (const e of folder.entries) assert.deepEqual(e, byPath.get(e.path));
  assert.equal(root.bytes.includes(Buffer.from("data set")), false, "the folder's name is not in the clear");
  assert.equal(root.bytes.includes(Buffer.from("-1.bin")), false, "nor are file names");
  assert.throws(() => decodeFolderObject(root.bytes, randomBytes(32)), (e: unknown) => e instanceof CasError && e.code === "EDECRYPT");
  assert.throws(() => decodeFolderObject(root.bytes, null), /private: its link's key is needed/);
});

test("the same folder encodes to the same bytes whatever order its entries come in (the same content ID)", () => {
  const l = listing(30);
  const keys = new ConvergentKeys(randomBytes(32));
  const a = encodeFolder(l, keys).root;
  const b = encodeFolder({ ...l, entries: [...l.entries].reverse() }, keys).root;
  assert.ok(a.bytes.equals(b.bytes));
});

test("a large folder is split into parts of at most about a megabyte; the root lists them, every object is listed once, and readFolder puts it together", async () => {
  const l = listing(12_000, "public");
  const { root, parts, folder, objects } = await roundTrip(l, null);
  assert.ok(parts.length >= 2, `${parts.length} parts`);
  for (const o of [root, ...parts]) assert.ok(o.bytes.length <= PART_TARGET_BYTES + 64 * 1024 && o.bytes.length <= MAX_MANIFEST_BYTES, `${o.bytes.length} bytes`);
  assert.equal(folder.entries.length, 12_001);
  assert.deepEqual(manifestLinks(root.bytes)?.parts, parts.map((p) => p.id));
  const all = await contentObjects(root.id, async (x) => objects.get(x.toString("hex")) ?? null);
  assert.equal(all?.ids.length, 1 + parts.length + 12_000 * 3, "the root, its parts, and each file's manifest and chunks once");
  assert.equal(all?.lead, 1 + parts.length);
});

test("decoding is strict: mangled bytes fail only with a CasError; entries out of order, a summary that lies, or a file manifest the folder does not list are refused", () => {
  const keys = new ConvergentKeys(randomBytes(32));
  const { root } = encodeFolder(listing(20), keys);
  const rng = new Prng(7);
  for (let i = 0; i < 2000; i++) {
    const bytes = mutateMany(rng, root.bytes);
    try {
      decodeFolderObject(bytes, root.key);
    } catch (err) {
      assert.ok(err instanceof CasError, `mutation ${i}: ${String(err)}`);
    }
  }
  const good = decodeFolderObject(root.bytes, root.key);
  assert.doesNotThrow(() => assembleFolder(good, []));
  const swapped = { ...good, entries: [good.entries[1], good.entries[0], ...good.entries.slice(2)] };
  assert.throws(() => assembleFolder(swapped, []), /out of order or repeated/);
  const repeated = { ...good, entries: [good.entries[0], ...good.entries.slice(0, -1)] };
  assert.throws(() => assembleFolder(repeated, []), /out of order or repeated/);
  assert.throws(() => assembleFolder({ ...good, summary: { ...good.summary!, size: 1 } }, []), /summary does not match/);
  assert.throws(() => assembleFolder({ ...good, objectIds: good.objectIds.slice(3) }, []), /names a file manifest the folder does not list/);
});

test("paths a fetch writes: anything that could leave the target or change meaning on another system is refused", () => {
  for (const ok of ["a.txt", "docs/api/v1/index.md", "café ☕/日本語.txt", "..x", ".hidden", "con-tents.txt", "a b/c d"]) assert.equal(pathProblem(ok), null, ok);
  const refused: [string, RegExp][] = [
    ["", /empty/],
    ["../x", /"\.\." is not a name/],
    ["a/../../x", /"\.\." is not a name/],
    ["./x", /"\." is not a name/],
    ["/etc/passwd", /absolute/],
    ["a//b", /"" is not a name/],
    ["a/", /"" is not a name/],
    ["C:/x", /":"/],
    ["C:x", /":"/],
    ["file.txt:stream", /":"/],
    ["a\\..\\b", /separator/],
    ["CON", /device name/],
    ["sub/nul.txt", /device name/],
    ["LPT1.log", /device name/],
    ["com3", /device name/],
    ["trailing.", /ends in a dot or a space/],
    ["trailing ", /ends in a dot or a space/],
    ["tab\there", /control character/],
    ["x".repeat(256), /longer than 255 bytes/],
    [Array.from({ length: MAX_FOLDER_DEPTH + 1 }, () => "d").join("/"), /levels deep/],
    [Array.from({ length: 20 }, () => "y".repeat(250)).join("/"), /longer than 4096 bytes/],
  ];
  for (const [p, why] of refused) assert.match(pathProblem(p) ?? "(accepted)", why, JSON.stringify(p));
  assert.equal(nameProblem("ok.txt"), null);
});

test("case folding: on a case-insensitive file system the later of two paths that fold together is the one refused", () => {
  const insensitive = new CaseFolding(true);
  assert.equal(insensitive.add("Readme.md"), null);
  assert.equal(insensitive.add("README.md"), "Readme.md");
  assert.equal(insensitive.add("Docs"), null);
  assert.equal(insensitive.add("docs"), "Docs");
  assert.equal(insensitive.add("ÉTÉ.txt"), null);
  assert.equal(insensitive.add("e\u0301te\u0301.txt"), "ÉTÉ.txt", "also across Unicode normalization forms");
  const sensitive = new CaseFolding(false);
  assert.equal(sensitive.add("Readme.md"), null);
  assert.equal(sensitive.add("README.md"), null);
});

test("walking a folder: symlinks never lead out, special files and unportable names are left out with a reason; safe publishing leaves out ignored and secret-looking files", async () => {
  const base = tempDir("walk");
  const dir = path.join(base, "shared");
  const w = (rel: string, data = "x") => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), data);
  };
  execFileSync("git", ["init", "-q", dir]);
  w(".gitignore", "build/\n*.log\n");
  w("src/main.ts");
  w("build/out.js");
  w("build/deep/more.js");
  w("debug.log");
  w(".env", "TOKEN=1\n");
  w("notes/keys.txt", "-----BEGIN OPENSSH PRIVATE KEY-----\n");
  w("a:b.txt");
  w("con.txt");
  w("dot.");
  fs.writeFileSync(path.join(base, "outside.txt"), "outside");
  fs.symlinkSync("../outside.txt", path.join(dir, "to-outside"));
  fs.symlinkSync("src/main.ts", path.join(dir, "to-main"));
  fs.symlinkSync("src", path.join(dir, "to-src"));
  fs.symlinkSync("missing", path.join(dir, "dangling"));
  execFileSync("mkfifo", [path.join(dir, "pipe")]);
  fs.mkdirSync(path.join(dir, "empty"));

  const walk = await walkFolder(dir);
  const reasons = new Map(walk.leftOut.map((e) => [e.path, e.reason]));
  assert.match(reasons.get(".git")!, /git repository's own data/);
  assert.match(reasons.get("to-outside")!, /outside the folder/);
  assert.match(reasons.get("to-src")!, /to a directory/);
  assert.match(reasons.get("dangling")!, /to nothing/);
  assert.match(reasons.get("pipe")!, /not a regular file/);
  assert.match(reasons.get("a:b.txt")!, /not portable/);
  assert.match(reasons.get("con.txt")!, /device name/);
  assert.match(reasons.get("dot.")!, /ends in a dot/);
  const linked = walk.files.find((f) => f.rel === "to-main");
  assert.equal(linked?.abs, fs.realpathSync(path.join(dir, "src/main.ts")), "a link to a file inside is shared as that file");
  assert.ok(walk.dirs.includes("empty"));

  await leaveOutUnsafe(dir, walk);
  const after = new Map(walk.leftOut.map((e) => [e.path, e.reason]));
  assert.match(after.get("build")!, /ignored by git.*with everything in it/);
  assert.equal(after.has("build/out.js"), false, "listed once, with its directory");
  assert.match(after.get("debug.log")!, /ignored by git/);
  assert.match(after.get(".env")!, /environment file/);
  assert.match(after.get("notes/keys.txt")!, /private key/);
  assert.deepEqual(walk.files.map((f) => f.rel).sort(), [".gitignore", "src/main.ts", "to-main"]);
  assert.deepEqual(walk.dirs.sort(), ["empty", "notes", "src"]);

  const forced = await walkFolder(dir, { force: true });
  assert.ok(forced.dirs.includes(".git"), "--force keeps .git");
});

test("a folder shared next to one of its files shared alone: the store lists two contents, not the folder's pieces", async () => {
  const dir = tempDir("roots");
  const src = path.join(dir, "src");
  fs.mkdirSync(path.join(src, "sub"), { recursive: true });
  for (const name of ["a.bin", "sub/b.bin", "sub/c.bin"]) fs.writeFileSync(path.join(src, name), randomBytes(5000));
  const store = await ContentStore.open(path.join(dir, "store"));
  const files = ["a.bin", "sub/b.bin", "sub/c.bin"].map((rel) => ({ rel, abs: path.join(src, rel), size: 5000, executable: false }));
  const secret = randomBytes(32);
  const folder = await shareFolder(store, "src", files, ["sub"], { convergenceSecret: secret });
  const alone = await shareFile(store, path.join(src, "sub/b.bin"), { convergenceSecret: secret });
  const manifests = store.ls().filter((o) => o.kind === "manifest").map((o) => o.id);
  assert.equal(manifests.length, 4, "the folder's root and three file manifests (b's shared twice is one object)");
  const standalone = (x: Buffer) => x.toString("hex") === alone.contentId;
  const roots = (await contentRoots(store, manifests, standalone)).map((x) => x.toString("hex")).sort();
  assert.deepEqual(roots, [folder.contentId, alone.contentId].sort());
  assert.deepEqual((await contentRoots(store, manifests, () => false)).map((x) => x.toString("hex")), [folder.contentId]);
  await store.close();
});

test("a folder share screens each file's first bytes as it reads them: a secret-looking file is left out with its reason, the rest shared", async () => {
  const dir = tempDir("screen");
  const src = path.join(dir, "src");
  fs.mkdirSync(src);
  const contents: Record<string, Buffer> = {
    "a.bin": randomBytes(5000),
    "key.txt": Buffer.from("x = 1\n-----BEGIN PRIVATE KEY-----\nMIIE\n"),
    "big.bin": Buffer.concat([Buffer.from("token: AKIAIOSFODNN7EXAMPLE\n"), randomBytes(600_000)]),
    "big-clean.bin": randomBytes(600_000),
  };
  for (const [name, bytes] of Object.entries(contents)) fs.writeFileSync(path.join(src, name), bytes);
  const files = Object.entries(contents).map(([rel, b]) => ({ rel, abs: path.join(src, rel), size: b.length, executable: false }));
  const store = await ContentStore.open(path.join(dir, "store"));
  const r = await shareFolder(store, "src", files, [], { convergenceSecret: randomBytes(32), screen: secretScreen });
  assert.deepEqual(r.leftOut.map((e) => e.path), ["big.bin", "key.txt"]);
  assert.match(r.leftOut[1].reason, /looks like a secret: .*private key/);
  assert.equal(r.summary.files, 2);
  const folder = await readFolder(r.link, async (x) => (await store.get(x)) ?? Promise.reject(new Error("absent")));
  assert.deepEqual(folder.entries.map((e) => e.path), ["a.bin", "big-clean.bin"]);
  await store.close();
});

test("small files shared in batches on workers give the objects, byte for byte, and the content ID that sharing each alone gives", async () => {
  const dir = tempDir("batches");
  const src = path.join(dir, "src");
  fs.mkdirSync(path.join(src, "sub"), { recursive: true });
  const contents = new Map<string, Buffer>();
  for (let i = 0; i < 200; i++) contents.set(`sub/f${i}.bin`, randomBytes(i % 10 === 0 ? 0 : 1 + ((i * 7919) % (64 * 1024))));
  contents.set("key.txt", Buffer.from("x = 1\n-----BEGIN PRIVATE KEY-----\nMIIE\n"));
  contents.set("not-a-token.txt", Buffer.from("ghp_ is a prefix, not a token\n"));
  contents.set("big.bin", randomBytes(600_000));
  contents.set("grown.bin", randomBytes(3000));
  for (const [rel, bytes] of contents) fs.writeFileSync(path.join(src, rel), bytes);
  // the walk saw grown.bin before it grew: its batch leaves it to be shared the ordinary way
  const files = [...contents].map(([rel, b]) => ({ rel, abs: path.join(src, rel), size: rel === "grown.bin" ? 2000 : b.length, executable: false }));
  for (const options of [{ convergenceSecret: randomBytes(32) }, { public: true }]) {
    const shares = [];
    // a screen without literals needs every head on the main thread, so each file is shared alone
    for (const screen of [secretScreen, { ...secretScreen, literals: undefined }]) {
      const storeDir = path.join(dir, `store-${shares.length}-${options.public ? "public" : "private"}`);
      const store = await ContentStore.open(storeDir);
      const r = await shareFolder(store, "src", files, ["sub"], { ...options, screen });
      const objects = await Promise.all(r.objectIds.map(async (x) => [x.toString("hex"), await store.get(x)] as const));
      shares.push({ r, objects: new Map(objects) });
      await store.close();
    }
    const [batched, alone] = shares;
    assert.equal(batched.r.contentId, alone.r.contentId);
    assert.deepEqual(batched.r.leftOut, alone.r.leftOut);
    assert.deepEqual(batched.r.leftOut.map((e) => e.path), ["key.txt"]);
    assert.equal(batched.r.summary.files, contents.size - 1);
    assert.equal(batched.r.bytesWritten, alone.r.bytesWritten);
    assert.deepEqual(batched.objects, alone.objects, "byte-identical objects");
    const store = await ContentStore.open(path.join(dir, `store-0-${options.public ? "public" : "private"}`));
    const folder = await readFolder(batched.r.link, async (x) => (await store.get(x)) ?? Promise.reject(new Error("absent")));
    assert.equal(folder.entries.find((e) => e.path === "grown.bin")?.size, 3000);
    await store.close();
  }
});
