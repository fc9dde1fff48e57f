// Shared folders between real node processes on 127.0.0.1: a folder of 300 files in nested
// directories (identical files, empty files, one of 64 MiB, non-ASCII names, an executable, an empty
// directory) shared and fetched byte-identical; the fetching node killed mid-way and the fetch
// resumed; a holder killed and the folder repaired to r; hand-made folder manifests whose names try to
// leave the output directory refused entry by entry, with nothing written outside it.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { cli, cliJson, fetchOk, fetchStreaming, RunningNode, startNode, stopNode, tempDir, waitFor } from "../helpers/cli";
import { startFakeHolder } from "../helpers/fake-holder";
import { ContentStore, shareFile } from "../../node-host/cas";
import { ConvergentKeys } from "../../node-host/cas/convergent-crypto";
import { encodeFolder, type FolderEntry } from "../../node-host/cas/folder-manifest";
import { formatShareLink } from "../../node-host/cas/share-link";
import type { ContentStatus, FetchInfo, FolderListingInfo, ShareInfo } from "../../node-host/rpc/api-types";

const root = tempDir("folders");
const nodes: Record<string, RunningNode> = {};
const BIG = 64 * 1024 * 1024;

async function addNode(name: string, extra: Record<string, unknown> = {}): Promise<RunningNode> {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  const config = { healthCheckIntervalMs: 500, offlineAfterMisses: 2, rpcTimeoutMs: 500, repairIntervalMs: 1500, replication: 3, ...extra };
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
  const first = Object.values(nodes)[0];
  nodes[name] = await startNode(dir, first ? [`127.0.0.1:${first.port}`] : []);
  return nodes[name];
}

/** The folder to share: 300 files, some identical, some empty, one of 64 MiB, names in several scripts, nested up to 5 deep. */
function makeTree(dir: string): void {
  let files = 0;
  const write = (rel: string, bytes: Buffer, mode = 0o644) => {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, bytes, { mode });
    files++;
  };
  const same = randomBytes(10_000);
  const dirs = ["docs", "docs/api/v1", "données/été", "日本語/フォルダ/深い", "src/lib/a/b", "Ωmega"];
  for (let i = 0; i < 280; i++) write(`${dirs[i % dirs.length]}/file-${i}.bin`, randomBytes(1 + ((i * 7919) % 40_000)));
  for (let i = 0; i < 10; i++) write(`copies/${i}/same.dat`, same); // identical files
  for (let i = 0; i < 5; i++) write(`${dirs[i]}/empty-${i}.txt`, Buffer.alloc(0));
  write("café ☕.txt", Buffer.from("crème brûlée\n"));
  write("emoji 🎉/notes.md", Buffer.from("# 🎉\n"));
  write("bin/run.sh", Buffer.from("#!/bin/sh\necho hi\n"), 0o755);
  write("media/big.bin", randomBytes(BIG));
  write("README.md", Buffer.from("a folder for the tests\n"));
  assert.equal(files, 300);
  fs.mkdirSync(path.join(dir, "empty dir/inside"), { recursive: true });
}

interface TreeEntry {
  kind: "file" | "dir" | "link";
  sha?: string;
  executable?: boolean;
}

/** Every file, directory and symlink under `dir` by relative path: a file with its SHA-256 and executable bit. */
function treeOf(dir: string): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const abs = path.join(dir, r);
      if (e.isSymbolicLink()) out.set(r, { kind: "link" });
      else if (e.isDirectory()) {
        out.set(r, { kind: "dir" });
        walk(r);
      } else out.set(r, { kind: "file", sha: createHash("sha256").update(fs.readFileSync(abs)).digest("hex"), executable: (fs.statSync(abs).mode & 0o100) !== 0 });
    }
  };
  walk("");
  return out;
}

function assertSameTree(fetched: string, original: string): void {
  const a = treeOf(fetched);
  const b = treeOf(original);
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), "the same files and directories");
  for (const [rel, entry] of b) assert.deepEqual(a.get(rel), entry, rel);
}

const source = path.join(root, "project");
let share: ShareInfo;
/** A node that holds no copy of the folder: its fetches come from the holders. */
let reader: RunningNode;

before(async () => {
  makeTree(source);
  await addNode("sharer");
  for (const name of ["h1", "h2", "h3", "h4"]) await addNode(name);
  await waitFor("every node to know the others", async () => {
    for (const n of Object.values(nodes)) if ((await cliJson<unknown[]>(n.dataDir, ["peers"])).length < 4) return false;
    return true;
  });
});

after(async () => {
  await Promise.all(Object.values(nodes).map((n) => stopNode(n, "SIGKILL")));
  fs.rmSync(root, { recursive: true, force: true });
});

test("a folder of 300 files is shared, listed without fetching, and fetched byte-identical from its holders", async () => {
  const started = Date.now();
  share = await cliJson<ShareInfo>(nodes.sharer.dataDir, ["share", source]);
  console.log(`# shared in ${Date.now() - started} ms`);
  assert.equal(share.kind, "folder");
  assert.deepEqual(share.folder?.leftOut, []);
  assert.equal(share.folder?.files, 300);
  assert.equal(share.size, bytesUnder(source));
  assert.equal(share.replicas, 2, "copied to two more nodes, every object of it");
  const st = await cliJson<ContentStatus>(nodes.h4.dataDir, ["status", share.link]);
  assert.equal(st.liveHolders, 3);
  assert.ok(st.holders.every((h) => h.complete === true), JSON.stringify(st.holders));
  reader = Object.values(nodes).find((n) => !st.holders.some((h) => h.id === n.id))!;

  const listing = await cliJson<FolderListingInfo>(reader.dataDir, ["ls", share.link]);
  assert.equal(listing.name, "project");
  assert.equal(listing.files, 300);
  const dirsOnDisk = [...treeOf(source)].filter(([, e]) => e.kind === "dir").map(([p]) => p).sort();
  assert.deepEqual(listing.entries.filter((e) => e.kind === "dir").map((e) => e.path).sort(), dirsOnDisk);
  assert.ok(listing.entries.some((e) => e.path === "bin/run.sh" && e.executable));
  assert.ok(listing.entries.every((e) => !e.refused));
  const text = await cli(["ls", share.link, "--data-dir", reader.dataDir]);
  assert.match(text.stdout, /^project\/ {2}300 file\(s\)/);
  assert.match(text.stdout, /café ☕\.txt/);
  assert.equal(fs.existsSync(path.join(reader.dataDir, "downloads")), false, "ls fetched no file");

  // into a folder that does not exist yet, two levels down
  const out = path.join(root, "got", "project copy");
  const r = await fetchOk(reader, share.link, out);
  assert.equal(r.path, out);
  assert.equal(r.folder?.filesFetched, 300);
  assert.deepEqual(r.folder?.refused, []);
  assert.ok(r.holdersUsed >= 2, `from several holders: ${r.holdersUsed}`);
  assertSameTree(out, source);
  const again = await fetchOk(reader, share.link, out);
  assert.equal(again.folder?.filesKept, 300, "a second fetch keeps every complete file");
  assert.ok(again.bytesFetched < 1024 * 1024, `and moves only manifests: ${again.bytesFetched} bytes`);
});

/** Files under `dir` in their places (not part files of a fetch under way). */
function filesInPlace(dir: string): number {
  try {
    return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && !e.name.endsWith(".peershare-part")).length;
  } catch {
    return 0; // not there yet, or changing under the walk
  }
}

/** Bytes of every file under `dir`. */
function bytesUnder(dir: string): number {
  let n = 0;
  for (const [rel, e] of treeOf(dir)) if (e.kind === "file") n += fs.statSync(path.join(dir, rel)).size;
  return n;
}

test("the fetching node killed mid-way: after a restart the fetch keeps the complete files and resumes the rest", async () => {
  const fetcher = await addNode("killed");
  // every node that may serve it is slowed down (whichever of h1-h4 hold copies, and any extra copy a repair made)
  const holders = Object.values(nodes).filter((n) => n !== fetcher);
  await Promise.all(holders.map((n) => cliJson(n.dataDir, ["config", "set", "uploadLimitMBps", "4"])));
  const out = path.join(root, "resumed");
  let killed = false;
  // killed once some files are in place (they are renamed in batches) and the 64 MiB one is under way
  const first = fetchStreaming(fetcher, share.link, out, (t) => {
    if (!killed && t.bytesDone > t.bytesTotal * 0.4 && t.bytesDone < t.bytesTotal && filesInPlace(out) > 0) {
      killed = true;
      fetcher.proc.kill("SIGKILL");
    }
  });
  const cut = await first.exited;
  assert.ok(killed && cut.code !== 0, `the fetch was cut short (exit ${cut.code}, killed ${killed}): ${cut.stderr.slice(-600)} ${JSON.stringify(cut.done)}`);
  const partial = [...treeOf(out)].filter(([, e]) => e.kind === "file");
  assert.ok(partial.length > 0, "some files were complete or under way when it was killed");
  await Promise.all(holders.map((n) => cliJson(n.dataDir, ["config", "set", "uploadLimitMBps", "0"])));

  nodes.killed = await startNode(fetcher.dataDir, [`127.0.0.1:${nodes.sharer.port}`]);
  await new Promise((r) => setTimeout(r, 800));
  const r = await fetchOk(nodes.killed, share.link, out);
  assert.ok((r.folder?.filesKept ?? 0) > 0, `complete files kept: ${JSON.stringify(r.folder)}`);
  assert.ok(r.bytesReused > share.size * 0.3, `reused ${r.bytesReused} of ${share.size}`);
  assert.ok(r.bytesFetched < share.size * 0.75, `moved ${r.bytesFetched} bytes the second time`);
  assertSameTree(out, source);
});

test("a holder of the folder killed: repair brings every object of it to r live copies again", async () => {
  const st = await cliJson<ContentStatus>(nodes.sharer.dataDir, ["status", share.link]);
  const victim = Object.entries(nodes).find(([name, n]) => name !== "sharer" && st.holders.some((h) => h.id === n.id && !h.self))!;
  await stopNode(victim[1], "SIGKILL");
  const healed = await waitFor(
    "the folder to have r live holders again",
    async () => {
      const x = await cliJson<ContentStatus>(nodes.sharer.dataDir, ["status", share.link]);
      return x.met && x.holders.filter((h) => h.live && h.complete === true).length >= 3 && x;
    },
    60_000,
    500,
  );
  assert.ok(!healed.holders.some((h) => h.id === victim[1].id && h.live), "the killed node is not counted");
});

test("hand-made folder manifests: every entry that could land outside the output directory is refused, the rest is written", async () => {
  // a real file manifest and chunk, listed under unsafe names next to a safe one
  const store = await ContentStore.open(path.join(root, "crafted-store"));
  const file = path.join(root, "payload.txt");
  fs.writeFileSync(file, "payload\n");
  const secret = randomBytes(32);
  const shared = await shareFile(store, file, { convergenceSecret: secret });
  const fileEntry = (p: string): FolderEntry => ({ kind: "file", path: p, size: shared.manifest.size, executable: false, manifestId: Buffer.from(shared.contentId, "hex"), manifestKey: shared.key });
  const unsafe = ["../escape.txt", "/abs-escape.txt", "C:/drive.txt", "C:drive2.txt", "sub/../../up.txt", "a\\..\\back.txt", "con.txt", "sub/NUL", "lpt1.log", "trailing.", "ctl\u0001.txt", "", "sub//double.txt", "linked/inside.txt"];
  const entries = [fileEntry("ok.txt"), fileEntry("sub/ok2.txt"), ...unsafe.map(fileEntry), { kind: "dir" as const, path: "../../escape-dir", size: 0, executable: false, manifestId: null, manifestKey: null }];
  const objectsOf = new Map([[shared.contentId, shared.objectIds]]);
  const { root: rootObject, parts } = encodeFolder({ summary: { name: "crafted", files: entries.length - 1, dirs: 1, size: (entries.length - 1) * shared.manifest.size }, mode: "private", entries, objectsOf }, new ConvergentKeys(secret));
  const holder = await startFakeHolder(nodes.sharer.port);
  try {
    for (const id of shared.objectIds) holder.serve((await store.get(id))!);
    for (const o of [rootObject, ...parts]) holder.serve(o.bytes);
    await holder.provide(rootObject.id.toString("hex"));
    const link = formatShareLink(rootObject.id.toString("hex"), rootObject.key);

    const sandbox = path.join(root, "sandbox");
    const out = path.join(sandbox, "out");
    fs.mkdirSync(path.join(sandbox, "elsewhere"), { recursive: true });
    fs.mkdirSync(out);
    fs.symlinkSync(path.join(sandbox, "elsewhere"), path.join(out, "linked")); // a symlink placed in the target beforehand
    const listing = await cliJson<FolderListingInfo>(reader.dataDir, ["ls", link]);
    assert.deepEqual(listing.entries.filter((e) => e.refused).map((e) => e.path).sort(), [...unsafe.filter((u) => u !== "linked/inside.txt"), "../../escape-dir"].sort());

    const r = await fetchStreaming(reader, link, out).exited;
    assert.equal(r.code, 1, r.stderr);
    const done = r.done as FetchInfo;
    assert.deepEqual(done.folder?.refused.map((e) => e.path).sort(), [...unsafe, "../../escape-dir"].sort());
    assert.match(r.stderr, /refused, not written \(15\)/);
    assert.match(r.stderr, /\.\.\/escape\.txt: unsafe path: "\.\.": "\.\." is not a name/);
    assert.match(r.stderr, /C:\/drive\.txt: unsafe path: "C:": it contains ":"/);
    assert.match(r.stderr, /con\.txt: unsafe path: "con\.txt": "con\.txt" is a device name on Windows/);
    assert.match(r.stderr, /linked\/inside\.txt: .*is a symbolic link: not followed/);
    // the safe entries are written, nothing else anywhere
    assert.deepEqual([...treeOf(sandbox).keys()].sort(), ["elsewhere", "out", "out/linked", "out/ok.txt", "out/sub", "out/sub/ok2.txt"]);
    assert.equal(fs.readFileSync(path.join(out, "ok.txt"), "utf8"), "payload\n");
    for (const escaped of [path.join(root, "escape.txt"), "/abs-escape.txt", path.join(root, "up.txt"), path.join(root, "escape-dir")]) assert.equal(fs.existsSync(escaped), false, escaped);
    assert.equal(reader.proc.exitCode, null, "the node stays up");
  } finally {
    await holder.close();
    await store.close();
  }
});

test("fetch -o into a folder that does not exist yet creates it (a file share)", async () => {
  const file = path.join(root, "single.txt");
  fs.writeFileSync(file, "one file\n");
  const s = await cliJson<ShareInfo>(nodes.sharer.dataDir, ["share", file]);
  const target = path.join(root, "not", "yet", "there.txt");
  const r = await fetchOk(reader, s.link, target);
  assert.equal(r.path, target);
  assert.equal(fs.readFileSync(target, "utf8"), "one file\n");
});
