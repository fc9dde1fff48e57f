// First contact with nothing set up, with real node processes in the network lab (netlab.ts):
//
//   public srv (an always-on team node: bootstrap, rendezvous, relay) ── internet ──┬─ router home (NAT) ── alice
//                                                                                  ├─ router office (NAT) ── bob
//                                                                                  └─ router cafe (NAT) ── carol
//
// alice joins through srv and ends up behind NAT with srv as her rendezvous node; bob and carol
// start with empty data dirs, no configuration, no passphrase and no keychain, and are on none of
// the others' LANs. From a link with address hints alone bob fetches byte-identical files without a
// running node (no process left behind); carol joins alice's team from an invite alone, then
// fetches a team share from a link without hints. Bad hints are skipped with a reason, malformed
// links and invites refused with a sentence, and a one-off fetch killed mid-way resumes.
//
// Needs root, iproute2 and iptables: skipped without them, a failure when CI=true.

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ChildProcess, execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BIN, exited, RunningNode, startNode, stopNode, tempDir, waitFor } from "../helpers/cli";
import { listNamespaces, namespacePids } from "../helpers/netns";
import { LabHost, NetLab } from "../helpers/netlab";
import { encodeHints } from "../../node-host/first-contact/hints";
import { formatShareLink, parseShareLink } from "../../node-host/cas/share-link";
import type { NodeInfo, ShareInfo, TeamInvite, TeamJoined, TeamMember } from "../../node-host/rpc/api-types";

const problem = NetLab.problem();
const PORT = 7420;
const sha = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** An environment with nothing that picks a key store or a data dir: no passphrase, no D-Bus session, a fresh HOME. */
function bareEnv(home: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home, LANG: "C.UTF-8" };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the `peershare` command inside a lab host. */
function runIn(host: LabHost, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 90_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(host.wrap[0], [...host.wrap.slice(1), process.execPath, BIN, ...args], { env, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The JSON lines a `--json` verb printed. */
const events = (stdout: string) =>
  stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { event?: string; [k: string]: unknown });

if (problem) {
  if (process.env.CI === "true") test("first contact in the network lab", () => assert.fail(`cannot build the network lab: ${problem}`));
  else test("first contact in the network lab", { skip: `needs root, ip netns and iptables: ${problem}` }, () => undefined);
} else {
  describe("first contact in the network lab", () => {
    let lab: NetLab;
    let srv: RunningNode;
    let alice: RunningNode;
    const started: RunningNode[] = [];
    const root = tempDir("first-contact");
    const home = tempDir("first-contact-home");
    const env = bareEnv(home);
    const h = (name: string) => lab.host(name);
    /** A `peershare` verb with --json against a lab node's data dir. */
    const json = async <T>(host: string, dataDir: string, args: string[]): Promise<T> => {
      const r = await runIn(h(host), [...args, "--data-dir", dataDir, "--json"], env);
      assert.equal(r.code, 0, `peershare ${args.join(" ")} on ${host}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    };
    const file = (name: string, bytes: number) => {
      const f = path.join(root, name);
      fs.writeFileSync(f, randomBytes(bytes));
      return f;
    };
    /** An empty dir for a fresh node or a fetch's output. */
    const fresh = (label: string) => fs.mkdtempSync(path.join(root, `${label}-`));
    /** No process runs in the host's namespace any more. */
    const noProcessIn = (host: string) => assert.deepEqual(namespacePids(h(host).ns), [], `a process was left running on ${host}`);

    before(async () => {
      lab = await NetLab.create({ public: ["srv"], cells: { home: { hosts: ["alice"] }, office: { hosts: ["bob"] }, cafe: { hosts: ["carol"] } } });
      srv = await startNode(fresh("srv"), [], ["--host", "0.0.0.0", "--port", String(PORT)], env, h("srv").wrap);
      alice = await startNode(fresh("alice"), [`${h("srv").ipv4}:${PORT}`], ["--host", "0.0.0.0", "--port", String(PORT)], env, h("alice").wrap);
      started.push(srv, alice);
      await waitFor("alice to find out she is behind NAT and register with srv", async () => (await json<NodeInfo>("alice", alice.dataDir, ["id"])).nat?.rendezvous.length, 30_000, 250);
    });

    after(async () => {
      for (const n of started) await stopNode(n).catch(() => undefined);
      const prefix = lab?.prefix;
      lab?.destroy();
      if (prefix) assert.deepEqual(listNamespaces().filter((n) => n.startsWith(prefix)), [], "namespaces left behind");
    });

    test("a node with an empty data dir and nothing configured fetches byte-identical from a link with hints alone, with no node running, and leaves nothing behind", async (t) => {
      const big = file("from-alice.bin", 3 << 20);
      const share = await json<ShareInfo>("alice", alice.dataDir, ["share", big, "--replication", "1"]);
      const hints = parseShareLink(share.link).hints!;
      assert.equal(hints.rendezvous.length, 1, "alice is behind NAT: her link names her rendezvous node");
      t.diagnostic(`link from behind NAT: ${share.link.length} characters (${share.linkWithoutHints.length} without hints)`);
      const bobDir = fresh("bob-empty");
      const out = fresh("bob-out");
      const r = await runIn(h("bob"), ["fetch", share.link, "-o", out + path.sep, "--data-dir", bobDir, "--json"], env);
      assert.equal(r.code, 0, r.stderr);
      const done = events(r.stdout).find((e) => e.event === "done") as { path: string };
      assert.equal(sha(done.path), sha(big), "byte-identical");
      const hintEvents = events(r.stdout).filter((e) => e.event === "hint");
      assert.ok(hintEvents.some((e) => e.outcome === "used" && String(e.hint).startsWith("rendezvous ")), JSON.stringify(hintEvents));
      assert.deepEqual(fs.readdirSync(bobDir), [], "a throwaway node: nothing written to the data dir");
      noProcessIn("bob");
      assert.deepEqual(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith("peershare-oneshot-")), [], "the one-off node's temporary dir is gone");

      // from a public sharer: a direct hint; and `cat` without a node too
      const small = file("from-srv.txt", 200_000);
      const pub = await json<ShareInfo>("srv", srv.dataDir, ["share", small, "--replication", "1"]);
      assert.deepEqual(parseShareLink(pub.link).hints?.direct, [{ host: h("srv").ipv4, port: PORT }]);
      t.diagnostic(`link from a public node: ${pub.link.length} characters`);
      const cat = await new Promise<Buffer>((resolve, reject) => {
        execFile(h("bob").wrap[0], [...h("bob").wrap.slice(1), process.execPath, BIN, "cat", pub.link, "--data-dir", fresh("bob-cat")], { env, encoding: "buffer", maxBuffer: 1 << 24, timeout: 60_000 }, (err, stdout, stderr) =>
          err ? reject(new Error(stderr.toString())) : resolve(stdout),
        );
      });
      assert.ok(cat.equals(fs.readFileSync(small)));
      noProcessIn("bob");
    });

    test("a folder shared from behind NAT: its link carries hints; a fresh node lists it and fetches it byte-identical from the link alone, with no node running", async () => {
      const dir = fresh("alice-folder");
      const files: Record<string, string> = { "a.txt": file("folder-a.txt", 50_000), "sub/b.bin": file("folder-b.bin", 700_000) };
      for (const [rel, src] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.copyFileSync(src, path.join(dir, rel));
      }
      const share = await json<ShareInfo>("alice", alice.dataDir, ["share", dir, "--replication", "1"]);
      assert.equal(share.kind, "folder");
      assert.equal(parseShareLink(share.link).hints?.rendezvous.length, 1, "the folder's link names alice's rendezvous node");
      const ls = await runIn(h("bob"), ["ls", share.link, "--data-dir", fresh("bob-ls-dd"), "--json"], env);
      assert.equal(ls.code, 0, ls.stderr);
      assert.deepEqual((JSON.parse(ls.stdout) as { entries: { path: string }[] }).entries.map((e) => e.path).sort(), ["a.txt", "sub", "sub/b.bin"]);
      const out = path.join(fresh("bob-folder-out"), "copy");
      const r = await runIn(h("bob"), ["fetch", share.link, "-o", out, "--data-dir", fresh("bob-folder-dd"), "--json"], env);
      assert.equal(r.code, 0, r.stderr);
      for (const [rel, src] of Object.entries(files)) assert.equal(sha(path.join(out, rel)), sha(src), rel);
      noProcessIn("bob");
    });

    test("hints that point at another node, at a private address from a public sharer, or at a port that answers garbage are skipped with a reason; the right one is used", async () => {
      const garbage: ChildProcess = h("srv").spawn(process.execPath, ["-e", `const s=require("dgram").createSocket("udp4");s.on("message",(m,r)=>s.send(require("crypto").randomBytes(80),r.port,r.address));s.bind(9999)`]);
      try {
        const f = file("bad-hints.bin", 300_000);
        const share = await json<ShareInfo>("srv", srv.dataDir, ["share", f, "--replication", "1", "--no-hints"]);
        assert.equal(share.link, share.linkWithoutHints);
        const { contentId, key } = parseShareLink(share.link);
        const srvInfo = await json<NodeInfo>("srv", srv.dataDir, ["id"]);
        const forged = encodeHints({
          node: Buffer.from(srvInfo.publicKey, "hex"),
          direct: [
            { host: lab.router("home").wanIpv4, port: PORT }, // alice's router: another node, or nothing
            { host: "10.9.9.9", port: PORT }, // private, from a sharer that names public addresses
            { host: h("srv").ipv4!, port: 9999 }, // answers garbage
            { host: h("srv").ipv4!, port: PORT }, // the right one
          ],
          rendezvous: [{ idPrefix: randomBytes(8), host: h("srv").ipv4!, port: PORT }], // srv, named as someone else
        });
        const r = await runIn(h("carol"), ["fetch", formatShareLink(contentId, key, forged), "-o", fresh("carol-bad") + path.sep, "--data-dir", fresh("carol-bad-dd"), "--json"], env);
        assert.equal(r.code, 0, r.stderr);
        const why = Object.fromEntries(events(r.stdout).filter((e) => e.event === "hint").map((e) => [e.hint, `${e.outcome}: ${e.reason}`]));
        assert.match(why[`direct ${lab.router("home").wanIpv4}:${PORT}`], /^skipped: no answer from node/);
        assert.match(why[`direct 10.9.9.9:${PORT}`], /^skipped: a private or local address, from a link that names public ones/);
        assert.match(why[`direct ${h("srv").ipv4}:9999`], /^skipped: no answer from node/);
        assert.match(why[`direct ${h("srv").ipv4}:${PORT}`], /^used: node/);
        assert.match(why[`rendezvous ${h("srv").ipv4}:${PORT}`], /^skipped: node [0-9a-f]{12}… answered there, not the [0-9a-f]{16}… the hint names/);
        assert.equal(sha((events(r.stdout).find((e) => e.event === "done") as { path: string }).path), sha(f));
        noProcessIn("carol");
      } finally {
        garbage.kill("SIGKILL");
        await exited(garbage);
      }
      // malformed links and invites: a sentence that says what is wrong, before any node starts
      const id = "ab".repeat(32);
      for (const [link, pattern] of [
        [`peershare://${id}#k=${randomBytes(32).toString("base64url")}&h=AAAA`, /address hints \(h=…\) are unusable: they are of version 0/],
        [`peershare://${id}#k=${randomBytes(32).toString("base64url")}&h=${Buffer.from(encodeHints({ node: randomBytes(32), direct: [{ host: "203.0.113.9", port: 1 }], rendezvous: [] }), "base64url").subarray(0, 30).toString("base64url")}`, /address hints \(h=…\) are unusable: they do not parse \(truncated/],
        [`peershare://${id.slice(2)}`, /content id must be 64 hex characters/],
      ] as const) {
        const r = await runIn(h("carol"), ["fetch", link, "--data-dir", fresh("carol-malformed")], env);
        assert.equal(r.code, 1);
        assert.match(r.stderr, pattern);
      }
      noProcessIn("carol");
    });

    test("a one-off fetch killed mid-way leaves its part file, and the next fetch resumes from it", async (t) => {
      const t0 = Date.now();
      await json("alice", alice.dataDir, ["config", "set", "uploadLimitMBps", "1"]);
      try {
        const f = file("resume.bin", 6 << 20);
        const share = await json<ShareInfo>("alice", alice.dataDir, ["share", f, "--replication", "1"]);
        const out = fresh("bob-resume");
        const part = path.join(out, ".resume.bin.peershare-part");
        const args = ["fetch", share.link, "-o", out + path.sep, "--data-dir", fresh("bob-resume-dd"), "--json"];
        const first = spawn(h("bob").wrap[0], [...h("bob").wrap.slice(1), process.execPath, BIN, ...args], { env, stdio: ["ignore", "pipe", "ignore"] });
        let progress = "";
        first.stdout!.on("data", (d) => (progress += d));
        await waitFor("a megabyte to arrive", async () => events(progress).some((e) => e.event === "progress" && Number(e.bytesDone) >= 1 << 20), 60_000, 100);
        t.diagnostic(`1 MiB arrived after ${Date.now() - t0} ms`);
        first.kill("SIGKILL");
        await exited(first);
        noProcessIn("bob");
        assert.ok(fs.existsSync(part), "the part file stays");
        await json("alice", alice.dataDir, ["config", "set", "uploadLimitMBps", "0"]);
        const t1 = Date.now();
        const again = await runIn(h("bob"), args, env);
        t.diagnostic(`resumed fetch took ${Date.now() - t1} ms`);
        assert.equal(again.code, 0, again.stderr);
        const done = events(again.stdout).find((e) => e.event === "done") as { path: string; bytesReused: number };
        assert.ok(done.bytesReused >= 1 << 20, `resumed: ${done.bytesReused} bytes reused`);
        assert.equal(sha(done.path), sha(f));
        assert.equal(fs.existsSync(part), false);
        assert.deepEqual(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith("peershare-oneshot-")), [], "the killed one-off node's temporary dir was removed by the next");
      } finally {
        await json("alice", alice.dataDir, ["config", "set", "uploadLimitMBps", "0"]);
      }
    });

    test("share --once serves from a throwaway node until one node has fetched the file, then exits", async () => {
      const f = file("once.bin", 1 << 20);
      const sharer = spawn(h("carol").wrap[0], [...h("carol").wrap.slice(1), process.execPath, BIN, "share", f, "--once", "--json", "--bootstrap", `${h("srv").ipv4}:${PORT}`, "--data-dir", fresh("carol-once")], { env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      sharer.stdout!.on("data", (d) => (out += d));
      let err = "";
      sharer.stderr!.on("data", (d) => (err += d));
      try {
        const link = await waitFor("the --once link", async () => (out.includes("\n}") ? (JSON.parse(out.slice(0, out.indexOf("\n}") + 2)) as ShareInfo).link : undefined), 45_000, 100);
        assert.equal(parseShareLink(link).hints?.rendezvous.length, 1, "carol's throwaway node is behind NAT: the link names its rendezvous node");
        const r = await runIn(h("bob"), ["fetch", link, "-o", fresh("bob-once") + path.sep, "--data-dir", fresh("bob-once-dd"), "--json"], env);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(sha((events(r.stdout).find((e) => e.event === "done") as { path: string }).path), sha(f));
        await waitFor("share --once to exit", async () => sharer.exitCode !== null, 30_000, 100);
        assert.equal(sharer.exitCode, 0, err);
        assert.ok(events(out.slice(out.indexOf("\n}") + 2)).some((e) => e.event === "fetched"), out);
        noProcessIn("carol");
      } finally {
        if (sharer.exitCode === null) sharer.kill("SIGKILL");
      }
    });

    test("a fresh node joins alice's team from an invite with hints alone, then fetches a team share from a link without hints", async () => {
      await json("alice", alice.dataDir, ["team", "create", "core"]);
      const invite = await json<TeamInvite>("alice", alice.dataDir, ["team", "invite", "--role", "write"]);
      assert.ok(invite.invite.includes("="), "the invite carries address hints");
      const carolDir = fresh("carol-node");
      const carol = await startNode(carolDir, [], ["--host", "0.0.0.0", "--port", String(PORT)], env, h("carol").wrap);
      started.push(carol);
      const joined = await json<TeamJoined>("carol", carolDir, ["team", "join", invite.invite]);
      assert.equal(joined.name, "core");
      assert.ok(joined.hints?.some((o) => o.outcome === "used" && o.hint.startsWith("rendezvous ")), JSON.stringify(joined.hints));
      assert.deepEqual(joined.bootstrapAdded, [`${h("srv").ipv4}:${PORT}`], "srv is kept as a bootstrap contact");
      await waitFor("alice to see carol's membership", async () => (await json<TeamMember[]>("alice", alice.dataDir, ["team", "members"])).some((m) => m.nodeId === carol.id), 20_000, 250);

      const f = file("team.bin", 1 << 20);
      const share = await json<ShareInfo>("alice", alice.dataDir, ["share", f, "--no-hints"]);
      const r = await runIn(h("carol"), ["fetch", share.link, "-o", fresh("carol-team") + path.sep, "--data-dir", carolDir, "--json"], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(sha((events(r.stdout).find((e) => e.event === "done") as { path: string }).path), sha(f));
      // bob, outside the team, is refused with a sentence
      const bob = await runIn(h("bob"), ["fetch", share.link, "--data-dir", fresh("bob-team"), "--bootstrap", `${h("srv").ipv4}:${PORT}`], env);
      assert.notEqual(bob.code, 0);
      assert.match(bob.stderr, /every holder refused this node|no reachable node holds/);
      // a malformed invite is refused with a sentence
      const bad = await runIn(h("carol"), ["team", "join", `${invite.invite}x!`, "--data-dir", carolDir], env);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /invite's address hints \(after "="\) are unusable/);
    });

    test("status --node tells a monitoring script that the team node is up and reachable, its peers and relayed connections", async () => {
      const s = await json<{ up: boolean; reachability: string; peers: number; rendezvousClients: number; relay: { circuitsOpened: number } }>("srv", srv.dataDir, ["status", "--node"]);
      assert.equal(s.up, true);
      assert.equal(s.reachability, "reachable");
      assert.equal(typeof s.peers, "number"); // every other node here is behind NAT: a DHT client, in no routing table
      assert.ok(s.rendezvousClients >= 2, `alice and carol use it as their rendezvous: ${s.rendezvousClients}`);
      assert.equal(typeof s.relay.circuitsOpened, "number");
      const none = await runIn(h("srv"), ["status", "--node", "--json", "--data-dir", fresh("nobody")], env);
      assert.equal(none.code, 1);
      assert.equal(JSON.parse(none.stdout).up, false);
    });
  });
}
