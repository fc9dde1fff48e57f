// Zero-configuration LAN discovery between real node processes in network namespaces.
//
// Layout (every address exists only inside namespaces this test creates, named psl<pid>-*; nothing
// is added to the machine's own namespace):
//
//   psl<pid>-n1  10.213.1.1 ─┐
//   psl<pid>-n2  10.213.1.2 ─┼─ bridge br-ps (in namespace psl<pid>-br): one LAN, multicast flows
//   psl<pid>-n3  10.213.1.3 ─┤
//   psl<pid>-r   10.213.1.254┘ router, IPv4 forwarding on ── 10.213.2.254 ── psl<pid>-n4 10.213.2.4
//
// n1–n3 start with no bootstrap contact at all and must find each other by multicast. n4 sits
// behind a router: Linux does not forward multicast without a multicast routing daemon (and the
// announcements have TTL 1), so n4 hears no announcement from the LAN and the LAN hears none from
// it; it joins through a configured --bootstrap, and then everyone can look up, put, get and fetch.
//
// Needs root and `ip netns` (iproute2). Without them the test is skipped, or fails when CI=true.

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { deleteNamespaces, ip, listNamespaces, netnsProblem, removeStaleNamespaces } from "../helpers/netns";
import { BIN, RunningNode, startNode, stopNode, tempDir, TEST_PASSPHRASE, waitFor } from "../helpers/cli";
import { keyFromText, xorDistance } from "../../node-host/dht/id";
import { connectLocal, LocalClient } from "../../node-host/rpc/local-socket";
import type { ClosestResult, ContactInfo, FetchInfo, NodeInfo, PutResult, ShareInfo, ValueRecordInfo } from "../../node-host/rpc/api-types";

const PREFIX = `psl${process.pid}-`;
const BRIDGE_NS = `${PREFIX}br`;
const ROUTER_NS = `${PREFIX}r`;
const LAN = ["n1", "n2", "n3"].map((n) => PREFIX + n);
const ISOLATED = `${PREFIX}n4`;
const ADDR: Record<string, string> = { [LAN[0]]: "10.213.1.1", [LAN[1]]: "10.213.1.2", [LAN[2]]: "10.213.1.3", [ISOLATED]: "10.213.2.4" };

function setUpNetwork(): void {
  const all = [BRIDGE_NS, ROUTER_NS, ...LAN, ISOLATED];
  for (const ns of all) {
    ip("netns", "add", ns);
    ip("-n", ns, "link", "set", "lo", "up");
  }
  ip("-n", BRIDGE_NS, "link", "add", "br-ps", "type", "bridge");
  ip("-n", BRIDGE_NS, "link", "set", "br-ps", "up");
  // one veth pair per LAN host, created straight into the two namespaces it joins
  const lanHosts: [string, string, string][] = [...LAN.map((ns, i): [string, string, string] => [ns, `v${i + 1}`, `${ADDR[ns]}/24`]), [ROUTER_NS, "vr", "10.213.1.254/24"]];
  for (const [ns, port, cidr] of lanHosts) {
    ip("link", "add", port, "netns", BRIDGE_NS, "type", "veth", "peer", "name", "eth0", "netns", ns);
    ip("-n", BRIDGE_NS, "link", "set", port, "master", "br-ps");
    ip("-n", BRIDGE_NS, "link", "set", port, "up");
    ip("-n", ns, "addr", "add", cidr, "dev", "eth0");
    ip("-n", ns, "link", "set", "eth0", "up");
  }
  for (const ns of LAN) ip("-n", ns, "route", "add", "10.213.2.0/24", "via", "10.213.1.254");
  // the routed link to n4
  ip("link", "add", "eth1", "netns", ROUTER_NS, "type", "veth", "peer", "name", "eth0", "netns", ISOLATED);
  ip("-n", ROUTER_NS, "addr", "add", "10.213.2.254/24", "dev", "eth1");
  ip("-n", ROUTER_NS, "link", "set", "eth1", "up");
  ip("-n", ISOLATED, "addr", "add", `${ADDR[ISOLATED]}/24`, "dev", "eth0");
  ip("-n", ISOLATED, "link", "set", "eth0", "up");
  ip("-n", ISOLATED, "route", "add", "default", "via", "10.213.2.254");
  // /proc/sys/net belongs to the namespace of whoever opens it
  execFileSync("ip", ["netns", "exec", ROUTER_NS, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"]);
}

interface NsNode extends RunningNode {
  ns: string;
}

/** Runs the CLI inside a namespace and returns its stdout; throws with stderr on failure. */
function nsCli(ns: string, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("ip", ["netns", "exec", ns, process.execPath, BIN, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`peershare ${args.join(" ")} in ${ns} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

async function nsJson<T>(node: NsNode, args: string[]): Promise<T> {
  return JSON.parse(await nsCli(node.ns, [...args, "--data-dir", node.dataDir, "--json"])) as T;
}

const problem = netnsProblem(`${PREFIX}probe`);

if (problem) {
  if (process.env.CI === "true") {
    test("LAN discovery between network namespaces", () => {
      assert.fail(`cannot run the LAN discovery test: ${problem}. CI must run it (.ci/run runs as root and installs iproute2).`);
    });
  } else {
    test("LAN discovery between network namespaces", { skip: `needs root and ip netns: ${problem}` }, () => undefined);
  }
} else {
  describe("LAN discovery between network namespaces", () => {
    const root = tempDir("lan");
    const nodes: NsNode[] = [];
    const cleanUp = () => {
      for (const n of nodes) if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill("SIGKILL");
      deleteNamespaces([BRIDGE_NS, ROUTER_NS, ...LAN, ISOLATED, `${PREFIX}probe`]);
    };
    // also when the test process is torn down before after() runs
    const onSignal = (signal: NodeJS.Signals) => {
      cleanUp();
      process.kill(process.pid, signal);
    };
    process.once("exit", cleanUp);
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);

    async function start(ns: string, bootstrap: string[] = []): Promise<NsNode> {
      const dataDir = path.join(root, ns.slice(PREFIX.length));
      fs.mkdirSync(dataDir, { recursive: true });
      fs.writeFileSync(path.join(dataDir, "config.json"), JSON.stringify({ healthCheckIntervalMs: 2000 }));
      const env = { ...process.env, PEERSHARE_PASSPHRASE: TEST_PASSPHRASE };
      // the default host, 0.0.0.0: what a teammate's node runs with
      const node = { ...(await startNode(dataDir, bootstrap, ["--host", "0.0.0.0"], env, ["ip", "netns", "exec", ns])), ns };
      nodes.push(node);
      return node;
    }

    // `peershare peers --json` run inside the node's namespace...
    const peersOf = (n: NsNode) => nsJson<ContactInfo[]>(n, ["peers"]);
    // ...and the same API call over the node's control socket (a path in the shared file system),
    // for polling: a process per poll is too slow on a busy machine
    const clients = new Map<NsNode, LocalClient>();
    const polledPeersOf = async (n: NsNode): Promise<ContactInfo[]> => {
      let c = clients.get(n);
      if (!c) clients.set(n, (c = await connectLocal(n.dataDir)));
      return c.call("dht.peers", {}, 10_000);
    };
    const online = (peers: ContactInfo[]) => peers.filter((p) => p.state === "online");

    let lanFoundMs = 0;

    before(async () => {
      removeStaleNamespaces("psl");
      setUpNetwork();
      for (const ns of LAN) await start(ns);
      const started = Date.now(); // the last one listens
      // every LAN node knows the two others, found on the LAN, with nothing configured
      await waitFor(
        "n1–n3 to find each other by multicast",
        async () => {
          const views = await Promise.all(nodes.map(polledPeersOf));
          return views.every((v, i) => {
            const others = nodes.filter((_, j) => j !== i).map((n) => n.id);
            return others.every((id) => v.some((p) => p.id === id && p.state === "online" && p.via === "lan"));
          });
        },
        20_000,
        250,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${nodes.map((n) => `--- ${n.ns}\n${n.stderr()}`).join("\n")}`);
      });
      lanFoundMs = Date.now() - started;
    });

    after(async () => {
      for (const c of clients.values()) c.close();
      await Promise.all(nodes.map((n) => stopNode(n, "SIGKILL")));
      cleanUp();
      process.off("exit", cleanUp);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      fs.rmSync(root, { recursive: true, force: true });
      assert.deepEqual(listNamespaces().filter((ns) => ns.startsWith(PREFIX)), [], "namespaces left behind");
    });

    test("nodes on one LAN find each other with no bootstrap configured, at the addresses they announce from", async (t) => {
      t.diagnostic(`all three knew each other ${lanFoundMs} ms after the last one started`);
      // well before the first periodic announcement (30 s ± 25 %): the start-up query is answered at once
      assert.ok(lanFoundMs < 15_000, `took ${lanFoundMs} ms`);
      for (const n of nodes) {
        const peers = online(await peersOf(n));
        assert.equal(peers.length, 2, `${n.ns}: ${JSON.stringify(peers)}`);
        for (const p of peers) {
          const other = nodes.find((o) => o.id === p.id)!;
          assert.equal(p.host, ADDR[other.ns]);
          assert.equal(p.port, other.port);
          assert.equal(p.via, "lan");
        }
      }
      const text = await nsCli(nodes[0].ns, ["peers", "--data-dir", nodes[0].dataDir]); // the table, with how each was found
      assert.match(text, /VIA/);
      assert.match(text, /\blan\b/);
    });

    test("a node that hears no multicast joins through --bootstrap, and then every node looks up, puts and gets", async (t) => {
      const joinStarted = Date.now();
      const isolated = await start(ISOLATED, [`${ADDR[LAN[0]]}:${nodes[0].port}`]);
      const all = nodes;
      await waitFor(
        "every node to know the three others",
        async () => (await Promise.all(all.map(polledPeersOf))).every((v) => online(v).length === 3),
        20_000,
        250,
      );
      t.diagnostic(`n4 started and known to all in ${Date.now() - joinStarted} ms`);
      // n4 heard no announcement but its own, and nobody learned n4 from one
      const [lanInfo, isolatedInfo] = await Promise.all([nsJson<NodeInfo>(all[0], ["id"]), nsJson<NodeInfo>(isolated, ["id"])]);
      assert.ok(lanInfo.stats.lanAccepted >= 2, `n1 accepted ${lanInfo.stats.lanAccepted} announcements`);
      assert.ok(isolatedInfo.stats.lanSent >= 1, "n4 announces too");
      assert.equal(isolatedInfo.stats.lanAccepted, 0, "n4 accepted an announcement from behind the router");
      const views = await Promise.all(all.map(peersOf));
      assert.deepEqual(views[3].filter((p) => p.via), []);
      for (const [i, n] of all.slice(0, 3).entries()) {
        const seen = views[i].find((p) => p.id === isolated.id)!;
        assert.equal(seen.host, ADDR[ISOLATED]);
        assert.equal(seen.via, undefined, `${n.ns} must not have found n4 on the LAN`);
      }

      const ids = all.map((n) => n.id);
      let phase = Date.now();
      const lap = (what: string) => {
        t.diagnostic(`${what}: ${Date.now() - phase} ms`);
        phase = Date.now();
      };
      await Promise.all(
        all.map(async (n) => {
          const r = await nsJson<ClosestResult>(n, ["dht", "closest", `lan key ${n.ns}`, "-n", "4"]);
          const key = keyFromText(`lan key ${n.ns}`);
          const want = [...ids].sort((a, b) => Buffer.compare(xorDistance(Buffer.from(a, "hex"), key), xorDistance(Buffer.from(b, "hex"), key)));
          assert.deepEqual(r.closest.map((c) => c.id), want, n.ns);
        }),
      );
      lap("dht closest on all four");
      const [fromIsolated, fromLan] = await Promise.all([
        nsJson<PutResult>(isolated, ["dht", "put", "where", "behind the router"]),
        nsJson<PutResult>(all[1], ["dht", "put", "where", "on the LAN"]),
      ]);
      assert.ok(fromIsolated.storedOn >= 2 && fromLan.storedOn >= 2, `stored on ${fromIsolated.storedOn} and ${fromLan.storedOn}`);
      lap("two puts");
      // the LAN nodes get n4's value, n4 gets the LAN's
      await Promise.all(
        all.map(async (n) => {
          const [key, value] = n === isolated ? [fromLan.key, "on the LAN"] : [fromIsolated.key, "behind the router"];
          assert.equal((await nsJson<ValueRecordInfo>(n, ["dht", "get", key])).value, value, n.ns);
        }),
      );
      lap("four gets");
    });

    test("a file shared on one LAN node is fetched byte-identical on another, and behind the router", async (t) => {
      const file = path.join(root, "report.bin");
      fs.writeFileSync(file, randomBytes(3 * 1024 * 1024 + 12_345));
      const sha = (f: string) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");
      let phase = Date.now();
      // held by the sharer alone, so that every byte crosses the network from n1
      const share = await nsJson<ShareInfo>(nodes[0], ["share", file, "--replication", "1"]);
      t.diagnostic(`share: ${Date.now() - phase} ms`);
      for (const fetcher of [nodes[2], nodes[3]]) {
        const out = path.join(root, `out-${fetcher.ns.slice(PREFIX.length)}`) + path.sep;
        const lines = (await nsCli(fetcher.ns, ["fetch", share.link, "-o", out, "--json", "--data-dir", fetcher.dataDir], 60_000)).trim().split("\n");
        const done = JSON.parse(lines[lines.length - 1]) as FetchInfo & { event: string };
        assert.equal(done.event, "done");
        assert.equal(sha(done.path), sha(file), fetcher.ns);
        assert.equal(done.holdersUsed, 1, fetcher.ns);
        assert.ok(done.bytesFetched >= fs.statSync(file).size, `${fetcher.ns} fetched all of it (ciphertext and manifest) from n1: ${done.bytesFetched} bytes`);
        t.diagnostic(`fetch on ${fetcher.ns.slice(PREFIX.length)} from ${done.holdersUsed} holder(s): ${Date.now() - phase} ms (${done.durationMs} ms in the node)`);
        phase = Date.now();
      }
    });

    test("`config set lanDiscovery off` stops discovery on a running node", async () => {
      const n = nodes[2];
      const set = await nsJson<{ value: string; appliedLive: boolean }>(n, ["config", "set", "lanDiscovery", "off"]);
      assert.deepEqual([set.value, set.appliedLive], ["off", true]);
      await waitFor("discovery to stop", async () => !("lanSent" in (await nsJson<NodeInfo>(n, ["id"])).stats), 10_000, 200);
    });
  });
}
