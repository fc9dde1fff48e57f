// The network lab (test/helpers/netlab.ts) does what later NAT traversal tests rely on, shown with
// plain UDP and TCP sockets run inside its namespaces (test/helpers/socket-agent.ts):
//
//   public s1, s2 ── internet ──┬─ router eima (NAT, endpoint-independent mapping) ── a
//                               ├─ router eimb (same) ── b
//                               ├─ router rnda (NAT --random-fully) ── c
//                               ├─ router rndb (same) ── d
//                               ├─ router tcponly (NAT, drops all UDP) ── t
//                               ├─ router v6only (IPv6 only, stateful firewall, no NAT) ── v
//                               ├─ router dual (IPv4 NAT and IPv6 firewall) ── w
//                               └─ router open (routed, no NAT, no firewall) ── o
//
// Needs root, iproute2 and iptables. Without them it is skipped, or fails when CI=true.

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline";
import { once } from "node:events";
import { exited } from "../helpers/cli";
import { listNamespaces } from "../helpers/netns";
import { NetLab } from "../helpers/netlab";
import { Arrival, SocketAgent } from "../helpers/socket-agent";
import { hasTurnServer, startTurnServer } from "../helpers/turn-server";

/** How long a datagram that should not arrive is waited for (the lab delivers in well under 1 ms). */
const SILENCE_MS = 500;

const namespacesOf = (prefix: string) => listNamespaces().filter((ns) => ns.startsWith(prefix));

/** Whether a process runs (a zombie no longer does). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** A process holding a small lab with a `sleep` running inside it (netlab-holder-main.ts), once the lab is up. */
async function holder() {
  const proc = spawn(process.execPath, [path.join(__dirname, "..", "helpers", "netlab-holder-main.js")], { stdio: ["pipe", "pipe", "inherit"] });
  const [line] = (await once(readline.createInterface({ input: proc.stdout! }), "line")) as [string];
  const { prefix, sleeper } = JSON.parse(line) as { prefix: string; sleeper: number };
  return { proc, prefix, sleeper };
}

const problem = NetLab.problem();

if (problem) {
  if (process.env.CI === "true") {
    test("network lab", () => assert.fail(`cannot build the network lab: ${problem}. CI must run it (.ci/run runs as root and installs iproute2 and iptables).`));
  } else {
    test("network lab", { skip: `needs root, ip netns and iptables: ${problem}` }, () => undefined);
  }
} else {
  describe("network lab", () => {
    let lab: NetLab;
    const agents: Record<string, SocketAgent> = {};
    /** A UDP socket on s1 that tells a test which address and port a datagram came from. */
    let reflector: { sock: number; port: number };

    before(async () => {
      lab = await NetLab.create({
        public: ["s1", "s2"],
        cells: {
          eima: { nat: "eim", hosts: ["a"] },
          eimb: { nat: "eim", hosts: ["b"] },
          rnda: { nat: "random-fully", hosts: ["c"] },
          rndb: { nat: "random-fully", hosts: ["d"] },
          tcponly: { nat: "eim", blockUdp: true, hosts: ["t"] },
          v6only: { nat: "none", ipv4: false, ipv6: true, hosts: ["v"] },
          dual: { nat: "eim", ipv6: true, hosts: ["w"] },
          open: { nat: "none", firewall: false, ipv6: true, hosts: ["o"] },
        },
      });
      await Promise.all(["s1", "s2", "a", "b", "c", "d", "t", "v", "w", "o"].map(async (n) => (agents[n] = await SocketAgent.start(lab.host(n)))));
      reflector = await agents.s1.udpBind();
    });

    after(() => {
      const prefix = lab?.prefix;
      lab?.destroy();
      if (prefix) assert.deepEqual(namespacesOf(prefix), [], "namespaces left behind");
    });

    /** The address and port s1 sees a datagram from `sock` on `host` come from. */
    async function seenByS1(host: string, sock: number): Promise<Arrival> {
      const tag = `where is ${host}/${sock} ${Math.random()}`;
      await agents[host].udpSend(sock, lab.host("s1").ipv4!, reflector.port, tag);
      const got = await agents.s1.nextArrival(reflector.sock, 2000, (x) => x.text === tag);
      assert.ok(got, `s1 heard nothing from ${host}`);
      return got;
    }

    /** Sends `text` every 50 ms from each side to the other's address until both heard the other, or `ms` ran out. */
    async function sendBothWays(x: string, xs: number, xTo: Arrival, y: string, ys: number, yTo: Arrival, ms: number) {
      const heardByX = agents[x].nextArrival(xs, ms, (a) => a.text === `from ${y}`);
      const heardByY = agents[y].nextArrival(ys, ms, (a) => a.text === `from ${x}`);
      const send = () => {
        void agents[x].udpSend(xs, xTo.from, xTo.port, `from ${x}`);
        void agents[y].udpSend(ys, yTo.from, yTo.port, `from ${y}`);
      };
      send();
      const timer = setInterval(send, 50);
      try {
        return await Promise.all([heardByX, heardByY]);
      } finally {
        clearInterval(timer);
      }
    }

    test("a host behind NAT reaches a public host, which sees the router's WAN address, and gets its answer", async () => {
      for (const [host, cell] of [["a", "eima"], ["w", "dual"]]) {
        const { sock } = await agents[host].udpBind();
        const seen = await seenByS1(host, sock);
        assert.equal(seen.from, lab.router(cell).wanIpv4);
        assert.equal(lab.host(host).publicIpv4, lab.router(cell).wanIpv4);
        assert.notEqual(seen.from, lab.host(host).ipv4);
        await agents.s1.udpSend(reflector.sock, seen.from, seen.port, "answer");
        const answer = await agents[host].nextArrival(sock, 2000, (x) => x.text === "answer");
        assert.deepEqual(answer, { from: lab.host("s1").ipv4, port: reflector.port, text: "answer" });
      }
    });

    test("unsolicited inbound to a NATed host is dropped: only the public host it wrote to gets through its mapping", async () => {
      const { sock, port } = await agents.a.udpBind();
      const mapping = await seenByS1("a", sock);
      const s2 = await agents.s2.udpBind();
      await agents.s2.udpSend(s2.sock, mapping.from, mapping.port, "from s2 to the mapping"); // another public host
      await agents.s2.udpSend(s2.sock, mapping.from, port, "from s2 to the local port");
      await agents.s1.udpSend(reflector.sock, mapping.from, mapping.port, "from s1"); // the one it wrote to
      assert.ok(await agents.a.nextArrival(sock, 2000, (x) => x.text === "from s1"), "s1's answer did not arrive");
      assert.equal(await agents.a.nextArrival(sock, SILENCE_MS, (x) => x.text.startsWith("from s2")), null, "s2's datagram got through");
    });

    test("endpoint-independent NAT keeps one external port toward two public hosts; --random-fully gives each its own", async () => {
      const s2 = await agents.s2.udpBind();
      const ports = async (host: string) => {
        const { sock } = await agents[host].udpBind();
        const toS1 = await seenByS1(host, sock);
        await agents[host].udpSend(sock, lab.host("s2").ipv4!, s2.port, `${host} to s2`);
        const toS2 = await agents.s2.nextArrival(s2.sock, 2000, (x) => x.text === `${host} to s2`);
        assert.ok(toS2, `s2 heard nothing from ${host}`);
        assert.equal(toS2.from, toS1.from, "one public address");
        return [toS1.port, toS2.port];
      };
      const [eim1, eim2] = await ports("a");
      assert.equal(eim1, eim2, "EIM NAT mapped one socket to two external ports");
      const [rnd1, rnd2] = await ports("c");
      assert.notEqual(rnd1, rnd2, "--random-fully mapped one socket to a single external port");
    });

    test("two hosts behind EIM NATs hole-punch UDP by sending at once; two behind --random-fully NATs cannot", async () => {
      const punch = async (x: string, y: string, ms: number) => {
        const xs = await agents[x].udpBind();
        const ys = await agents[y].udpBind();
        // each learns the other's mapping from a public host, as a rendezvous would tell them
        const [xMapped, yMapped] = await Promise.all([seenByS1(x, xs.sock), seenByS1(y, ys.sock)]);
        const heard = await sendBothWays(x, xs.sock, yMapped, y, ys.sock, xMapped, ms);
        return { heard, xMapped, yMapped };
      };
      const eim = await punch("a", "b", 3000);
      assert.ok(eim.heard[0] && eim.heard[1], `EIM punch failed: ${JSON.stringify(eim.heard)}`);
      // each saw the other at the very mapping the public host had seen
      assert.deepEqual([eim.heard[0].from, eim.heard[0].port], [eim.yMapped.from, eim.yMapped.port]);
      assert.deepEqual([eim.heard[1].from, eim.heard[1].port], [eim.xMapped.from, eim.xMapped.port]);
      const rnd = await punch("c", "d", 1500);
      assert.deepEqual(rnd.heard, [null, null], "a datagram crossed two --random-fully NATs");
    });

    test("a router that drops UDP passes TCP but no UDP", async () => {
      const server = await agents.s1.tcpListen(4, "tcp ok");
      const conn = await agents.t.tcpConnect(lab.host("s1").ipv4!, server.port);
      assert.deepEqual(conn, { connected: true, text: "tcp ok" });
      const accepted = await agents.s1.nextArrival(server.sock, 2000);
      assert.equal(accepted?.from, lab.router("tcponly").wanIpv4);
      const { sock } = await agents.t.udpBind();
      await agents.t.udpSend(sock, lab.host("s1").ipv4!, reflector.port, "udp from t");
      assert.equal(await agents.s1.nextArrival(reflector.sock, SILENCE_MS, (x) => x.text === "udp from t"), null, "UDP got through");
    });

    test("IPv6 hosts reach each other's global addresses through stateful firewalls only after an outbound packet", async () => {
      const [v, w] = [lab.host("v"), lab.host("w")];
      assert.equal(v.ipv4, undefined, "the IPv6-only host has IPv4");
      const vs = await agents.v.udpBind(6);
      const ws = await agents.w.udpBind(6);
      const s1 = await agents.s1.udpBind(6);
      // unsolicited: from a public host, and from w before v ever wrote to it
      await agents.s1.udpSend(s1.sock, v.ipv6!, vs.port, "from s1");
      await agents.w.udpSend(ws.sock, v.ipv6!, vs.port, "from w");
      assert.equal(await agents.v.nextArrival(vs.sock, SILENCE_MS), null, "unsolicited IPv6 got through");
      // w's datagram opened w's firewall: v's reaches w, from v's own global address (no NAT)...
      await agents.v.udpSend(vs.sock, w.ipv6!, ws.port, "from v");
      const atW = await agents.w.nextArrival(ws.sock, 2000, (x) => x.text === "from v");
      assert.deepEqual(atW, { from: v.ipv6, port: vs.port, text: "from v" });
      // ...and v's opened v's: now w's reaches v
      await agents.w.udpSend(ws.sock, v.ipv6!, vs.port, "from w again");
      const atV = await agents.v.nextArrival(vs.sock, 2000, (x) => x.text === "from w again");
      assert.deepEqual(atV, { from: w.ipv6, port: ws.port, text: "from w again" });
    });

    test("the control cell is routed with neither NAT nor firewall", async () => {
      const o = lab.host("o");
      for (const family of [4, 6] as const) {
        const os = await agents.o.udpBind(family);
        const ss = await agents.s1.udpBind(family);
        const oAddr = family === 4 ? o.ipv4! : o.ipv6!;
        await agents.s1.udpSend(ss.sock, oAddr, os.port, "unsolicited");
        const got = await agents.o.nextArrival(os.sock, 2000);
        assert.equal(got?.text, "unsolicited", `IPv${family}`);
        await agents.o.udpSend(os.sock, got.from, got.port, "reply");
        assert.deepEqual(await agents.s1.nextArrival(ss.sock, 2000), { from: oAddr, port: os.port, text: "reply" }, `IPv${family}`);
      }
    });

    test("a lab goes away with its process (exit, SIGTERM, SIGINT); one a SIGKILL left is removed by the next lab", async () => {
      const ends = ["exit", "SIGTERM", "SIGINT", "SIGKILL"] as const;
      const holders = await Promise.all(ends.map(() => holder()));
      for (const [i, h] of holders.entries()) {
        assert.ok(namespacesOf(h.prefix).length >= 3 && running(h.sleeper), `${ends[i]}: the lab is not up`);
        if (ends[i] === "exit") h.proc.stdin!.write("exit\n");
        else h.proc.kill(ends[i]);
        await exited(h.proc);
      }
      for (const [i, h] of holders.slice(0, 3).entries()) {
        assert.deepEqual(namespacesOf(h.prefix), [], ends[i]);
        assert.equal(running(h.sleeper), false, `${ends[i]}: the process inside the lab still runs`);
      }
      const killed = holders[3];
      assert.ok(namespacesOf(killed.prefix).length >= 3 && running(killed.sleeper), "SIGKILL left nothing behind to clean up");
      NetLab.removeStale();
      assert.deepEqual(namespacesOf(killed.prefix), [], "a dead process's lab is still there");
      assert.equal(running(killed.sleeper), false);
    });

    const turn = hasTurnServer();
    const turnSkip = turn ? false : process.env.CI === "true" ? false : "Debian's coturn (turnserver) is not installed";
    test("coturn on a public host answers STUN: a host behind NAT learns its mapping, an IPv6 host its own address", { skip: turnSkip }, async () => {
      assert.ok(turn, "turnserver is missing: .ci/run installs Debian's coturn");
      const server = await startTurnServer(lab.host("s2"));
      try {
        const s2 = lab.host("s2");
        const { sock } = await agents.a.udpBind();
        const mapped = await agents.a.stun(sock, s2.ipv4!, server.port);
        // the same mapping a datagram to another public host comes from (EIM)
        const seen = await seenByS1("a", sock);
        assert.deepEqual(mapped, { family: 4, address: lab.router("eima").wanIpv4, port: seen.port });
        const v6 = await agents.v.udpBind(6);
        assert.deepEqual(await agents.v.stun(v6.sock, s2.ipv6!, server.port), { family: 6, address: lab.host("v").ipv6, port: v6.port });
      } finally {
        await server.stop();
      }
    });
  });
}
