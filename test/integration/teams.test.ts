// Team access control between real node processes on 127.0.0.1: who may fetch a private share,
// who may push replicas, and revocation.
//
// admin creates team "core" and shares into it; reader joins with role read, writer with role
// write; stranger joins nothing. All four are in one DHT, so every node can find every holder.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { cli, cliJson, randomFile, RunningNode, startNode, stopNode, tempDir, waitFor, writeConfig } from "../helpers/cli";
import { connectLocal } from "../../node-host/rpc/local-socket";
import { RpcErrors } from "../../node-host/rpc/api-types";
import type { AuditListing, FetchInfo, NodeInfo, ShareInfo, StoreListing, TeamInvite, TeamMember, TeamSummary } from "../../node-host/rpc/api-types";

const root = tempDir("teams");
const nodes: Record<string, RunningNode> = {};
const sha = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

async function addNode(name: string): Promise<RunningNode> {
  const dir = path.join(root, name);
  writeConfig(dir, { healthCheckIntervalMs: 500, offlineAfterMisses: 2, rpcTimeoutMs: 500, replication: 1 });
  const first = Object.values(nodes)[0];
  const node = await startNode(dir, first ? [`127.0.0.1:${first.port}`] : []);
  nodes[name] = node;
  return node;
}

const makeFile = (name: string, bytes: number) => randomFile(path.join(root, "files", name), bytes);

const run = (node: RunningNode, args: string[]) => cli([...args, "--data-dir", node.dataDir]);
const json = <T>(node: RunningNode, args: string[]) => cliJson<T>(node.dataDir, args);
const share = (node: RunningNode, file: string, extra: string[] = []) => json<ShareInfo>(node, ["share", file, ...extra]);

/** `fetch --json` prints progress events, then the result as its last line. */
async function fetchJson(node: RunningNode, link: string, out: string): Promise<FetchInfo> {
  const r = await run(node, ["fetch", link, "-o", out, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as FetchInfo;
}

async function invite(role: "read" | "write", forNode?: string): Promise<string> {
  return (await json<TeamInvite>(nodes.admin, ["team", "invite", "--role", role, ...(forNode ? ["--for", forNode] : [])])).invite;
}

before(async () => {
  for (const name of ["admin", "reader", "writer", "stranger"]) await addNode(name);
  await waitFor("every node to know the others", async () => {
    for (const n of Object.values(nodes)) if ((await json<unknown[]>(n, ["peers"])).length < 3) return false;
    return true;
  });
  const team = await json<TeamSummary>(nodes.admin, ["team", "create", "core"]);
  assert.equal(team.name, "core");
  assert.equal(team.admin, true);
  assert.equal((await json<TeamSummary>(nodes.reader, ["team", "join", await invite("read")])).role, "read");
  // the writer's invite is made for its node ID: the stranger, holding the same string, cannot join
  const typo = await run(nodes.admin, ["team", "invite", "--for", "not-a-node-id"]);
  assert.notEqual(typo.code, 0);
  assert.match(typo.stderr, /--for\) is a node ID: 64 hex digits/);
  const forWriter = await invite("write", (await json<NodeInfo>(nodes.writer, ["id"])).id);
  const stolen = await run(nodes.stranger, ["team", "join", forWriter]);
  assert.notEqual(stolen.code, 0);
  assert.match(stolen.stderr, /this invite cannot be used: it was made for node/);
  assert.equal((await json<TeamSummary>(nodes.writer, ["team", "join", forWriter])).role, "write");
});

after(async () => {
  await Promise.all(Object.values(nodes).map((n) => stopNode(n)));
  fs.rmSync(root, { recursive: true, force: true });
});

test("a private team share: a member with role read fetches it, a stranger with the link is refused with a clear sentence", async () => {
  const file = makeFile("plan.bin", 300_000);
  const s = await share(nodes.admin, file);
  assert.deepEqual(s.teams, ["core"]);

  const refused = await run(nodes.stranger, ["fetch", s.link, "-o", path.join(root, "stranger-out") + "/"]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /every holder refused this node/);
  assert.match(refused.stderr, /shared with team "core"/);
  assert.match(refused.stderr, /peershare team join/);
  assert.equal(fs.existsSync(path.join(root, "stranger-out", "plan.bin")), false);
  // opening it (what VS Code's Open Shared Hash asks first: content.info) is refused the same way
  const client = await connectLocal(nodes.stranger.dataDir);
  try {
    await assert.rejects(client.call("content.info", { link: s.link }), (e: Error & { code?: number }) => e.code === RpcErrors.Forbidden && /every holder refused this node/.test(e.message));
  } finally {
    client.close();
  }

  const got = await fetchJson(nodes.reader, s.link, path.join(root, "reader-out") + "/");
  assert.equal(sha(got.path), sha(file));
});

test("the admin's audit log names who fetched its share and who was refused", async () => {
  const audit = await json<AuditListing>(nodes.admin, ["audit"]);
  assert.equal(audit.intact, true);
  const outcome = (node: RunningNode) => audit.entries.filter((e) => e.node === node.id).map((e) => e.outcome);
  assert.deepEqual(outcome(nodes.reader), ["served"]);
  assert.deepEqual(outcome(nodes.stranger), ["refused"]);
  const text = await run(nodes.admin, ["audit"]);
  assert.match(text.stdout, /OUTCOME/);
});

test("the admin sees who proved membership, with their roles", async () => {
  const members = await json<TeamMember[]>(nodes.admin, ["team", "members"]);
  const byId = new Map(members.map((m) => [m.nodeId, m]));
  assert.equal(byId.get(nodes.admin.id)?.self, true);
  assert.equal(byId.get(nodes.reader.id)?.role, "read");
  assert.equal(byId.has(nodes.stranger.id), false);
  const text = await run(nodes.admin, ["team", "members"]);
  assert.match(text.stdout, /\(this node\)/);
});

test("replica pushes: accepted from a member with write role, refused from a reader and from a stranger", async () => {
  const stored = async (node: RunningNode, contentId: string) => (await json<StoreListing>(node, ["ls"])).contents.some((c) => c.contentId === contentId);

  const fromWriter = await share(nodes.writer, makeFile("w.bin", 50_000), ["--replication", "4"]);
  await waitFor("the admin to keep the writer's replica", () => stored(nodes.admin, fromWriter.contentId));

  const fromReader = await share(nodes.reader, makeFile("r.bin", 50_000), ["--replication", "4"]);
  const publicFromReader = await share(nodes.reader, makeFile("rp.bin", 50_000), ["--replication", "4", "--public"]);
  const fromStranger = await share(nodes.stranger, makeFile("s.bin", 50_000), ["--replication", "4"]);
  // team nodes refuse the reader's copies (it has no write role), and its team share may not go to
  // the stranger (no member); its public share may, and the open stranger takes it
  assert.equal(fromReader.replicas, 0, `reader's team share copied to ${fromReader.replicas} node(s)`);
  assert.equal(await stored(nodes.stranger, fromReader.contentId), false);
  assert.equal(publicFromReader.replicas, 1, `reader's public share copied to ${publicFromReader.replicas} node(s)`);
  assert.equal(await stored(nodes.stranger, publicFromReader.contentId), true);
  assert.equal(fromStranger.replicas, 0);
  for (const n of [nodes.admin, nodes.writer]) {
    for (const s of [fromReader, publicFromReader, fromStranger]) assert.equal(await stored(n, s.contentId), false);
  }
});

test("DHT records: team nodes store them only for members with write role", async () => {
  const put = (node: RunningNode, name: string) => json<{ key: string; storedOn: number }>(node, ["dht", "put", name, "v"]);
  // the stranger's only peers are team nodes: none takes its record
  assert.equal((await put(nodes.stranger, "from-stranger")).storedOn, 0);
  // the reader's record goes only to the one open node (the stranger)
  assert.equal((await put(nodes.reader, "from-reader")).storedOn, 1);
  // the writer's record is taken by everyone: team nodes after it showed its membership
  assert.equal((await put(nodes.writer, "from-writer")).storedOn, 3);
});

test("dht lookup --trace shows every node asked, hop by hop, with distance, RTT and answer", async () => {
  const r = await run(nodes.reader, ["dht", "lookup", "from-writer-trace-check", "--trace"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  const header = lines.findIndex((l) => /^HOP\s+NODE\s+ADDRESS\s+DISTANCE\s+BITS\s+RTT\s+ANSWER$/.test(l));
  assert.ok(header > 0, r.stdout);
  const rows = lines.slice(header + 1).filter((l) => l.trim());
  assert.ok(rows.length >= 3, r.stdout);
  for (const row of rows) assert.match(row, /^\d+\s+[0-9a-f]{16}\s+127\.0\.0\.1:\d+\s+[0-9a-f]{12}…\s+\d+\s+([\d.]+ ms|-)\s+(answered|no answer)$/);
});

test("a revoked member can no longer fetch the team's shares", async () => {
  const before = await share(nodes.admin, makeFile("before.bin", 100_000));
  const first = await run(nodes.writer, ["fetch", before.link, "-o", path.join(root, "writer-out") + "/"]);
  assert.equal(first.code, 0, first.stderr);

  const revoked = await json<{ team: string; revoked: string; seq: number }>(nodes.admin, ["team", "revoke", nodes.writer.id]);
  assert.equal(revoked.revoked, nodes.writer.id);
  const members = await json<TeamMember[]>(nodes.admin, ["team", "members"]);
  assert.equal(members.find((m) => m.nodeId === nodes.writer.id)?.revoked, true);

  const after = await share(nodes.admin, makeFile("after.bin", 100_000));
  const refused = await run(nodes.writer, ["fetch", after.link, "-o", path.join(root, "writer-out") + "/"]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /every holder refused this node/);
  // the reader, still a member, fetches the same share
  const ok = await run(nodes.reader, ["fetch", after.link, "-o", path.join(root, "reader-out") + "/"]);
  assert.equal(ok.code, 0, ok.stderr);
});

test("team verbs give clear errors: a bad invite, a non-admin invite, an unknown team", async () => {
  const bad = await run(nodes.stranger, ["team", "join", "peershare-invite:AAAA"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /not a valid invite/);
  const notAdmin = await run(nodes.reader, ["team", "invite"]);
  assert.equal(notAdmin.code, 1);
  assert.match(notAdmin.stderr, /only the node that created team "core"/);
  const unknown = await run(nodes.admin, ["team", "members", "--team", "nope"]);
  assert.match(unknown.stderr, /no team "nope"/);
  const none = await run(nodes.stranger, ["team", "list"]);
  assert.match(none.stdout, /in no team/);
});
