// A private team share never leaves its team, between real node processes on 127.0.0.1: not on
// share, not by repair after holders are killed, not by hand-off on a graceful stop, not to a
// revoked member; a node outside the team with the full link gets no byte of it.
//
// admin creates team "core"; reader joins with role read at once; writers w1-w5 join later;
// outsiders o1-o3 join no team. All are in one DHT, every node near every content ID.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { cli, cliJson, exited, filesContaining, RunningNode, startNode, stopNode, tempDir, waitFor, writeConfig } from "../helpers/cli";
import type { AuditListing, ContentStatus, FetchInfo, RepairReport, ShareInfo, StoreListing, TeamInvite, TeamSummary } from "../../node-host/rpc/api-types";

const root = tempDir("team-confinement");
const nodes: Record<string, RunningNode> = {};
const WRITERS = ["w1", "w2", "w3", "w4", "w5"];
const OUTSIDERS = ["o1", "o2", "o3"];
const SHORTFALL = 'too few live members of team "core"';

const json = <T>(node: RunningNode, args: string[]) => cliJson<T>(node.dataDir, args);
const run = (node: RunningNode, args: string[]) => cli([...args, "--data-dir", node.dataDir]);
const sha = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");
const alive = (n: RunningNode) => n.proc.exitCode === null && n.proc.signalCode === null;
const byId = (id: string) => Object.entries(nodes).find(([, n]) => n.id === id)![0];

async function addNode(name: string): Promise<void> {
  const dir = path.join(root, name);
  writeConfig(dir, { healthCheckIntervalMs: 500, offlineAfterMisses: 2, rpcTimeoutMs: 500, repairIntervalMs: 1500, replication: 3 });
  const first = nodes.admin;
  nodes[name] = await startNode(dir, first ? [`127.0.0.1:${first.port}`] : []);
}

function makeFile(name: string, bytes = 200_000): string {
  const file = path.join(root, "files", name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, randomBytes(bytes));
  return file;
}

async function join(name: string, role: "read" | "write"): Promise<void> {
  const { invite } = await json<TeamInvite>(nodes.admin, ["team", "invite", "--role", role]);
  assert.equal((await json<TeamSummary>(nodes[name], ["team", "join", invite])).role, role);
}

async function status(observer: RunningNode, link: string): Promise<ContentStatus> {
  return json<ContentStatus>(observer, ["status", link]);
}

/** Names of the live holders whose copy counts. */
const counted = (st: ContentStatus) => st.holders.filter((h) => h.live && h.complete !== false && !h.notCounted).map((h) => byId(h.id)).sort();

/** Every file under `dir` that contains a 64-byte piece of `file` (its plaintext). */
function traces(dir: string, file: string): string[] {
  const data = fs.readFileSync(file);
  return filesContaining(dir, [0, data.length >> 1, data.length - 64].map((at) => data.subarray(at, at + 64)));
}

/** An outsider holds nothing of any share: no object in its store, no plaintext anywhere in its data dir. */
async function assertOutsidersHoldNothing(files: string[]): Promise<void> {
  for (const name of OUTSIDERS.filter((o) => alive(nodes[o]))) {
    const listing = await json<StoreListing>(nodes[name], ["ls"]);
    assert.equal(listing.objects, 0, `${name} stores ${listing.objects} object(s): ${JSON.stringify(listing.contents)}`);
    for (const f of files) assert.deepEqual(traces(nodes[name].dataDir, f), [], `${name} has plaintext of ${path.basename(f)}`);
  }
}

before(async () => {
  await addNode("admin");
  await Promise.all(["reader", ...WRITERS, ...OUTSIDERS].map(addNode));
  await waitFor("every node to know the others", async () => {
    for (const n of Object.values(nodes)) if ((await json<unknown[]>(n, ["peers"])).length < 8) return false;
    return true;
  });
  await json<TeamSummary>(nodes.admin, ["team", "create", "core"]);
  await join("reader", "read");
});

after(async () => {
  await Promise.all(Object.values(nodes).map((n) => stopNode(n, "SIGKILL")));
  fs.rmSync(root, { recursive: true, force: true });
});

const files: string[] = [];

test("a share for a team of two stays at 2/3 rather than spill to outsiders, who get nothing even with the link; the reader holds and fetches it", async () => {
  const file = makeFile("plan.bin");
  files.push(file);
  const s = await json<ShareInfo>(nodes.admin, ["share", file]);
  assert.deepEqual(s.teams, ["core"]);
  assert.equal(s.replicas, 1, "one copy: on the reader, the only other member");

  const st = await status(nodes.admin, s.link);
  assert.deepEqual(counted(st), ["admin", "reader"]);
  assert.equal(st.met, false);
  assert.equal(st.shortfall, SHORTFALL);
  const text = await run(nodes.admin, ["status", s.link]);
  assert.match(text.stdout, /2 live holder\(s\) of r = 3: UNDER-REPLICATED \(too few live members of team "core"\)/);
  assert.match(nodes.admin.stderr(), /stays at 2 of 3 live holders: too few live members of team "core"/);
  const topUp = await json<RepairReport>(nodes.admin, ["repair", s.link]);
  assert.equal(topUp.copies, 0);
  assert.equal(topUp.shortfall, SHORTFALL);

  for (const name of OUTSIDERS) {
    const t = Date.now();
    const r = await run(nodes[name], ["fetch", s.link, "-o", path.join(root, `${name}-out`) + "/"]);
    console.log("# fetch", name, Date.now() - t);
    assert.equal(r.code, 1, `${name}: ${r.stdout}`);
    assert.match(r.stderr, /every holder refused this node/);
    assert.match(r.stderr, /shared with team "core"/);
  }
  await assertOutsidersHoldNothing(files);
  for (const name of OUTSIDERS) assert.deepEqual(fs.existsSync(path.join(root, `${name}-out`)) ? fs.readdirSync(path.join(root, `${name}-out`)) : [], [], `${name} left a file behind`);

  const r = await run(nodes.reader, ["fetch", s.link, "-o", path.join(root, "reader-out") + "/", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha((JSON.parse(r.stdout.trim().split("\n").pop()!) as FetchInfo).path), sha(file));
});

test("once writers join, the repair sweep brings the share to r on members only", async () => {
  for (const w of WRITERS) await join(w, "write");
  const [s] = (await json<StoreListing>(nodes.admin, ["ls"])).contents.filter((c) => c.pins.includes("own"));
  const st = await waitFor("the share to reach r", async () => {
    const x = await status(nodes.admin, s.contentId);
    return x.met && x;
  });
  assert.equal(counted(st).length, 3);
  assert.ok(counted(st).every((n) => !OUTSIDERS.includes(n)), counted(st).join());
  assert.equal(st.shortfall ?? null, null);
  await assertOutsidersHoldNothing(files);
});

test("a folder shared with the team: every object of it goes to members only; an outsider with the link gets nothing of it, and the sharer's audit lists the refusals", async () => {
  const inFolder = ["plan/a.bin", "plan/deep/b.bin", "notes.bin"].map((rel) => makeFile(`team-folder/${rel}`, 150_000));
  files.push(...inFolder);
  const folder = path.join(root, "files", "team-folder");
  const s = await json<ShareInfo>(nodes.admin, ["share", folder]);
  assert.equal(s.kind, "folder");
  assert.deepEqual(s.teams, ["core"]);
  assert.equal(s.replicas, 2);
  const st = await status(nodes.admin, s.link);
  assert.equal(counted(st).length, 3);
  assert.ok(counted(st).every((n) => !OUTSIDERS.includes(n)), counted(st).join());

  for (const name of OUTSIDERS) {
    const listed = await run(nodes[name], ["ls", s.link]);
    assert.equal(listed.code, 1, `${name} listed it: ${listed.stdout}`);
    assert.match(listed.stderr, /every holder refused this node/);
    const out = path.join(root, `${name}-folder-out`);
    const r = await run(nodes[name], ["fetch", s.link, "-o", out]);
    assert.equal(r.code, 1, `${name}: ${r.stdout}`);
    assert.match(r.stderr, /every holder refused this node/);
    assert.match(r.stderr, /shared with team "core"/);
    assert.deepEqual(fs.existsSync(out) ? fs.readdirSync(out) : [], [], `${name} wrote something`);
  }
  await assertOutsidersHoldNothing(files);
  const audit = await json<AuditListing>(nodes.admin, ["audit", s.link]);
  const refused = new Set(audit.entries.filter((e) => e.outcome === "refused").map((e) => byId(e.node)));
  for (const name of OUTSIDERS) assert.ok(refused.has(name), `the audit lists ${name}'s refusal: ${JSON.stringify(audit.entries)}`);

  const member = WRITERS.find((w) => !counted(st).includes(w))!;
  const out = path.join(root, "member-folder-out");
  const got = await run(nodes[member], ["fetch", s.link, "-o", out]);
  assert.equal(got.code, 0, got.stderr);
  for (const [i, rel] of ["plan/a.bin", "plan/deep/b.bin", "notes.bin"].entries()) assert.equal(sha(path.join(out, rel)), sha(inFolder[i]), rel);
});

test("repair after member holders are SIGKILLed places the new copies on members only", async () => {
  const file = makeFile("repair.bin");
  files.push(file);
  const s = await json<ShareInfo>(nodes.admin, ["share", file]);
  assert.equal(s.replicas, 2);
  const holders = counted(await status(nodes.admin, s.link)).filter((n) => n !== "admin");
  assert.equal(holders.length, 2);
  await Promise.all(holders.map((n) => stopNode(nodes[n], "SIGKILL")));

  // right after the kill a status may still count the killed holders: heard from within the
  // health-check interval, they pass as live until their peers miss them
  const st = await waitFor("repair to restore r on other nodes", async () => {
    const x = await status(nodes.admin, s.link);
    return x.met && counted(x).every((n) => !holders.includes(n)) && x;
  }, 30_000);
  const now = counted(st);
  assert.ok(now.every((n) => !holders.includes(n) && !OUTSIDERS.includes(n)), now.join());
  await assertOutsidersHoldNothing(files);
});

test("a member that stops gracefully hands its copy to another member, never to an outsider", async () => {
  const file = makeFile("handoff.bin");
  files.push(file);
  const s = await json<ShareInfo>(nodes.admin, ["share", file]);
  const before = counted(await status(nodes.admin, s.link));
  const leaving = before.find((n) => WRITERS.includes(n))!;
  assert.ok(leaving, `a writer holds it: ${before.join()}`);
  // slow repair right down everywhere, so what keeps the count is the hand-off alone
  for (const n of Object.values(nodes).filter(alive)) await json(n, ["config", "set", "repairIntervalMs", "600000"]);
  const r = await run(nodes[leaving], ["stop"]);
  assert.equal(r.code, 0, r.stderr);
  await exited(nodes[leaving].proc);

  const st = await status(nodes.admin, s.link);
  const after = counted(st);
  assert.equal(after.length, 3, `after the hand-off: ${after.join()}`);
  assert.ok(!after.includes(leaving) && after.every((n) => !OUTSIDERS.includes(n)), after.join());
  await assertOutsidersHoldNothing(files);
  for (const n of Object.values(nodes).filter(alive)) await json(n, ["config", "set", "repairIntervalMs", "1500"]);
});

test("a revoked member receives nothing new, and its old copy no longer counts", async () => {
  const file = makeFile("before-revoke.bin");
  files.push(file);
  const s = await json<ShareInfo>(nodes.admin, ["share", file]);
  const revoked = counted(await status(nodes.admin, s.link)).find((n) => n !== "admin")!;
  await json(nodes.admin, ["team", "revoke", nodes[revoked].id]);

  // its copy is live and complete but not counted: repair copies to another member instead
  const st = await waitFor("repair to replace the revoked member's copy", async () => {
    const x = await status(nodes.admin, s.link);
    return x.met && x;
  }, 30_000);
  const mine = st.holders.find((h) => h.id === nodes[revoked].id);
  assert.ok(mine?.live && mine.notCounted, JSON.stringify(mine));
  assert.match(mine!.notCounted!, /has shown no valid membership/);
  assert.ok(!counted(st).includes(revoked));

  // a new share as wide as the team can hold: every live member but the revoked one gets a copy
  const wide = makeFile("after-revoke.bin");
  files.push(wide);
  const s2 = await json<ShareInfo>(nodes.admin, ["share", wide, "--replication", "10"]);
  const got = await json<StoreListing>(nodes[revoked], ["ls"]);
  assert.equal(got.contents.some((c) => c.contentId === s2.contentId), false, "the revoked member received the new share");
  const members = Object.keys(nodes).filter((n) => n !== revoked && !OUTSIDERS.includes(n) && alive(nodes[n]));
  assert.deepEqual(counted(await status(nodes.admin, s2.link)), members.sort());
  await assertOutsidersHoldNothing(files);
});
