// No team server at all: two teammates behind different NATs, with no public peershare node
// anywhere, meet in the Mainline DHT (setting rendezvous = "mainline") and one fetches a team file
// from the other, byte-identical. Real node processes in the network lab (netlab.ts):
//
//   public mdht (a swarm of 8 bittorrent-dht nodes, standing in for the Mainline DHT) ── internet ──┬─ router eima (NAT) ── alice
//                                                                                                 └─ router eimb (NAT) ── bob
//
// Both nodes start with no bootstrap contact and LAN discovery off; their only way to each other is
// the swarm, named by the mainlineBootstrap setting. The lab's internet is a bridge in a namespace
// with no route out of the machine, so no datagram reaches the real Mainline DHT.
//
// Needs root, iproute2 and iptables: skipped without them, a failure when CI=true.

import { test } from "node:test";
import assert from "node:assert/strict";
import { ChildProcess, execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { BIN, exited, RunningNode, startNode, stopNode, tempDir, waitFor, writeConfig } from "../helpers/cli";
import { listNamespaces } from "../helpers/netns";
import { LabHost, NetLab } from "../helpers/netlab";
import { parseShareLink } from "../../node-host/cas/share-link";
import type { FetchInfo, NodeInfo, ShareInfo, TeamInvite } from "../../node-host/rpc/api-types";

const problem = NetLab.problem();
const PORT = 7420;
const SWARM_PORT = 6881;
const SWARM_NODES = 8;
const SWARM_MAIN = path.join(__dirname, "..", "helpers", "mainline-swarm-main.js");
const sha = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

function runIn(host: LabHost, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(host.wrap[0], [...host.wrap.slice(1), process.execPath, BIN, ...args], { env, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

if (problem) {
  if (process.env.CI === "true") test("Mainline rendezvous in the network lab", () => assert.fail(`cannot build the network lab: ${problem}`));
  else test("Mainline rendezvous in the network lab", { skip: `needs root, ip netns and iptables: ${problem}` }, () => undefined);
} else {
  test("two teammates behind different NATs with no public peershare node meet in a local Mainline swarm; one fetches a team file byte-identical", { timeout: 300_000 }, async (t) => {
    const lab = await NetLab.create({ public: ["mdht"], cells: { eima: { nat: "eim", hosts: ["alice"] }, eimb: { nat: "eim", hosts: ["bob"] } } });
    const root = tempDir("mainline");
    const env = { PATH: process.env.PATH, HOME: tempDir("mainline-home"), LANG: "C.UTF-8" };
    const started: RunningNode[] = [];
    let swarm: ChildProcess | null = null;
    try {
      const h = (name: string) => lab.host(name);
      const json = async <T>(host: string, dataDir: string, args: string[]): Promise<T> => {
        const r = await runIn(h(host), [...args, "--data-dir", dataDir, "--json"], env);
        assert.equal(r.code, 0, `peershare ${args.join(" ")} on ${host}: ${r.stderr}`);
        return JSON.parse(r.stdout) as T;
      };

      swarm = h("mdht").spawn(process.execPath, [SWARM_MAIN, "0.0.0.0", String(SWARM_PORT), String(SWARM_NODES)]);
      let swarmOut = "";
      swarm.stdout!.on("data", (d) => (swarmOut += d));
      await waitFor("the Mainline swarm to listen", async () => swarmOut.includes('"ready"'), 30_000, 100);
      const swarmAt = `${h("mdht").ipv4}:${SWARM_PORT}`;

      const node = async (name: string) => {
        const dir = path.join(root, name);
        writeConfig(dir, { mainlineBootstrap: [swarmAt], lanDiscovery: "off" });
        const n = await startNode(dir, [], ["--host", "0.0.0.0", "--port", String(PORT)], env, h(name).wrap);
        started.push(n);
        const set = await json<{ appliedLive: boolean }>(name, dir, ["config", "set", "rendezvous", "mainline"]);
        assert.equal(set.appliedLive, true, "turned on without a restart");
        return n;
      };
      const alice = await node("alice");
      const bob = await node("bob");

      await json("alice", alice.dataDir, ["team", "create", "core"]);
      const invite = await json<TeamInvite>("alice", alice.dataDir, ["team", "invite", "--no-hints"]);
      await json("bob", bob.dataDir, ["team", "join", invite.invite]);

      const f = path.join(root, "plan.bin");
      fs.writeFileSync(f, randomBytes(2 << 20));
      const share = await json<ShareInfo>("alice", alice.dataDir, ["share", f, "--no-hints"]);
      assert.equal(parseShareLink(share.link).hints, null, "the link says nothing of where alice is");
      assert.deepEqual(share.teams, ["core"]);

      // each finds the other there: an address from the swarm, the identity from its signed answer
      const found = (info: NodeInfo, other: RunningNode) => info.mainline?.found.find((x) => x.id === other.id);
      const sharedAt = Date.now();
      const bobSeen = await waitFor("alice to find bob in the Mainline swarm", async () => found(await json<NodeInfo>("alice", alice.dataDir, ["id"]), bob), 120_000, 1000);
      const aliceSeen = await waitFor("bob to find alice in the Mainline swarm", async () => found(await json<NodeInfo>("bob", bob.dataDir, ["id"]), alice), 120_000, 1000);
      t.diagnostic(`both found each other ${((Date.now() - sharedAt) / 1000).toFixed(1)} s after the share (diagnostic, not asserted)`);
      assert.equal(bobSeen.host, h("bob").publicIpv4, "bob is known at his NAT's public address");
      assert.equal(aliceSeen.host, h("alice").publicIpv4);
      assert.equal(bobSeen.team, "core");

      const out = path.join(root, "bob-out");
      const fetched = await runIn(h("bob"), ["fetch", share.link, "-o", out + path.sep, "--data-dir", bob.dataDir, "--json"], env);
      assert.equal(fetched.code, 0, fetched.stderr);
      const r = fetched.stdout
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as FetchInfo & { event: string })
        .find((e) => e.event === "done")!;
      assert.equal(sha(r.path), sha(f), "byte-identical");
      for (const line of bob.stderr().split("\n").filter((l) => /behind NAT|reachable|failed|Mainline rendezvous:/.test(l))) t.diagnostic(`bob: ${line}`);
      t.diagnostic(`fetched ${r.size} bytes from alice by ${r.routes?.map((x) => x.path).join(", ") || "?"} in ${(r.durationMs / 1000).toFixed(1)} s`);

      // what went into the swarm: announces and lookups only from the lab's NATs
      assert.match(alice.stderr(), new RegExp(`joining the Mainline DHT through ${swarmAt.replace(/\./g, "\\.")}`));
      assert.doesNotMatch(alice.stderr() + bob.stderr(), /router\.bittorrent\.com|router\.utorrent\.com|dht\.transmissionbt\.com/);
      const counts = swarmOut.trim().split("\n").map((l) => JSON.parse(l) as { announces?: number });
      assert.ok((counts.at(-1)?.announces ?? 0) > 0, "the swarm took announcements");

      const status = await json<{ up: boolean; mainline: { found: number } | null }>("bob", bob.dataDir, ["status", "--node"]);
      assert.equal(status.mainline?.found, 1, "status --node counts the teammate found");

      // a link to nothing anyone shared: a clear failure, not a hang
      const missing = await runIn(h("bob"), ["fetch", `peershare://${randomBytes(32).toString("hex")}`, "--data-dir", bob.dataDir], env, 60_000);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /no reachable node holds|not found|holds/i);
      assert.equal((await json<NodeInfo>("alice", alice.dataDir, ["id"])).id, alice.id, "alice still answers");
    } finally {
      for (const n of started) await stopNode(n).catch(() => undefined);
      if (swarm && swarm.exitCode === null) {
        swarm.kill("SIGTERM");
        await exited(swarm);
      }
      const prefix = lab.prefix;
      lab.destroy();
      assert.deepEqual(listNamespaces().filter((n) => n.startsWith(prefix)), [], "namespaces left behind");
    }
  });
}
