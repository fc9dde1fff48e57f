// NAT traversal figures, in the network lab (test/helpers/netlab.ts; needs root): for each kind of
// pair of networks, the time from `fetch` to the first byte and the throughput of one share fetched
// by real node processes, beside the control (two nodes routed with no NAT) measured in the same
// run; how many cells connect directly; and the relaying node's CPU per MB relayed.
//   node dist/bench/nat.js [sizeMiB]      (default 128)

import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { runScript } from "../scripts/run-script";
import { BIN, cliJson, RunningNode, startNode, stopNode, tempDir, TEST_PASSPHRASE, waitFor, writeConfig } from "../test/helpers/cli";
import { NetLab } from "../test/helpers/netlab";
import { NAT_CELLS, NAT_HOSTS } from "../test/helpers/nat-cells";
import type { FetchInfo, NodeInfo, ShareInfo } from "../node-host/rpc/api-types";

interface Cell {
  name: string;
  from: string;
  to: string;
}

/** Each cell: the sharer, the fetcher (behind what). */
const CELLS: Cell[] = [
  { name: "control: routed, no NAT (direct TLS)", from: "s1", to: "e" },
  { name: "public → behind NAT (direct TLS)", from: "s1", to: "a" },
  { name: "behind NAT → public (TLS connected back)", from: "a", to: "s1" },
  { name: "NAT(a) ↔ NAT(a)", from: "a", to: "b" },
  { name: "NAT(a) ↔ NAT(b)", from: "a", to: "c" },
  { name: "NAT(b) ↔ NAT(b)", from: "c", to: "d" },
  { name: "UDP blocked ↔ NAT(a)", from: "t", to: "a" },
  { name: "IPv6 only ↔ dual-stack, firewalls", from: "v", to: "w" },
  { name: "control again, at the end", from: "s1", to: "e" },
];

interface Row {
  cell: string;
  path: string;
  firstByteMs: number;
  seconds: number;
  mbps: number;
}

/** Seconds of CPU a process has used (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

/** `peershare fetch --json`, timing the first progress event that counts a byte and the result. */
function timedFetch(node: RunningNode, link: string, out: string): Promise<{ info: FetchInfo; firstByteMs: number; doneMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstByteMs = NaN;
    let last = "";
    const proc = spawn(process.execPath, [BIN, "fetch", link, "-o", out, "--json", "--data-dir", node.dataDir], { env: { ...process.env, PEERSHARE_PASSPHRASE: TEST_PASSPHRASE } });
    let buffered = "";
    proc.stdout.on("data", (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        last = line;
        if (Number.isNaN(firstByteMs) && /"bytesDone":[1-9]/.test(line)) firstByteMs = performance.now() - started;
      }
    });
    let err = "";
    proc.stderr.on("data", (d: Buffer) => (err += d));
    proc.on("close", (code) => (code === 0 ? resolve({ info: JSON.parse(last) as FetchInfo, firstByteMs, doneMs: performance.now() - started }) : reject(new Error(`fetch failed: ${err}`))));
  });
}

async function main(): Promise<void> {
  const sizeMiB = Number(process.argv[2] ?? 128);
  const problem = NetLab.problem();
  if (problem) {
    process.stdout.write(`NAT bench skipped: ${problem}\n`);
    return;
  }
  const lab = await NetLab.create({ public: ["s1"], cells: NAT_CELLS });
  const root = tempDir("nat-bench");
  const nodes: Record<string, RunningNode> = {};
  try {
    const s1 = lab.host("s1");
    // relaying uncapped, so the relayed cells show what the relay can do, not its default caps
    const config = { relayMBps: 0, relayTotalMBps: 0, shareWarnMB: 0 };
    writeConfig(path.join(root, "s1"), config);
    nodes.s1 = await startNode(path.join(root, "s1"), [], ["--host", "::", "--port", "7420"], undefined, s1.wrap);
    for (const n of NAT_HOSTS) writeConfig(path.join(root, n), config);
    await Promise.all(
      NAT_HOSTS.map(async (n) => (nodes[n] = await startNode(path.join(root, n), [n === "v" ? `[${s1.ipv6}]:7420` : `${s1.ipv4}:7420`], ["--host", "::"], undefined, lab.host(n).wrap))),
    );
    await waitFor("every node to know how it is reached", async () => {
      const all = await Promise.all(Object.values(nodes).map((n) => cliJson<NodeInfo>(n.dataDir, ["id"])));
      return all.every((i) => i.nat?.reachability !== "unknown");
    }, 60_000, 500);
    process.stdout.write(`NAT traversal: ${sizeMiB} MiB private share, --replication 1, fetched once per cell; relaying uncapped\n`);
    const file = path.join(root, "file.bin");
    const rows: Row[] = [];
    // the relaying nodes' CPU is counted over the relayed cells only (they share and fetch in others)
    const relayNodes = ["s1", "e"];
    const relayCpuNow = () => relayNodes.reduce((sum, n) => sum + cpuSeconds(nodes[n].proc.pid!), 0);
    const relayedBytes = async () => (await Promise.all(relayNodes.map((n) => cliJson<NodeInfo>(nodes[n].dataDir, ["id"])))).reduce((sum, i) => sum + (i.nat?.relay.bytesRelayed ?? 0), 0);
    let relayCpu = 0;
    let relayed = 0;
    for (const cell of CELLS) {
      fs.writeFileSync(file, randomBytes(sizeMiB * 1024 * 1024)); // new bytes: no fetcher holds any of them
      const share = await cliJson<ShareInfo>(nodes[cell.from].dataDir, ["share", file, "--replication", "1", "--force"]);
      const [cpuBefore, bytesBefore] = [relayCpuNow(), await relayedBytes()];
      const { info, firstByteMs, doneMs } = await timedFetch(nodes[cell.to], share.link, path.join(root, `out-${cell.to}-${randomBytes(3).toString("hex")}`) + "/");
      const seconds = info.durationMs / 1000;
      // throughput once the path is up (the first byte's time is its own column)
      rows.push({ cell: cell.name, path: info.routes?.map((r) => r.path).join("+") ?? "?", firstByteMs, seconds, mbps: info.size / 1e6 / ((doneMs - firstByteMs) / 1000) });
      if (rows.at(-1)!.path === "relay") [relayCpu, relayed] = [relayCpu + relayCpuNow() - cpuBefore, relayed + (await relayedBytes()) - bytesBefore];
      process.stdout.write(`  ${cell.name}: ${rows.at(-1)!.path}, first byte ${firstByteMs.toFixed(0)} ms, ${seconds.toFixed(2)} s\n`);
      fs.rmSync(info.path, { force: true });
    }
    // the control runs first and last: the load of a shared machine drifts over the run
    const control = (rows[0].mbps + rows.at(-1)!.mbps) / 2;
    process.stdout.write(`\n${"cell".padEnd(42)} ${"path".padEnd(12)} ${"first byte".padStart(10)} ${"MB/s".padStart(7)} ${"× control".padStart(9)}\n`);
    for (const r of rows) process.stdout.write(`${r.cell.padEnd(42)} ${r.path.padEnd(12)} ${`${r.firstByteMs.toFixed(0)} ms`.padStart(10)} ${r.mbps.toFixed(1).padStart(7)} ${(r.mbps / control).toFixed(2).padStart(9)}\n`);
    const natRows = rows.slice(1, -1);
    const direct = natRows.filter((r) => r.path !== "relay").length;
    process.stdout.write(`\n${direct} of ${natRows.length} NAT cells connect directly; the rest through a relay.\n`);
    process.stdout.write(`relaying nodes' CPU: ${relayCpu.toFixed(2)} s for ${(relayed / 1e6).toFixed(0)} MB relayed (${relayed > 0 ? ((relayCpu * 1000) / (relayed / 1e6)).toFixed(2) : "-"} ms per MB, over the relayed cells)\n`);
  } finally {
    await Promise.all(Object.values(nodes).map((n) => stopNode(n, "SIGKILL")));
    lab.destroy();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

runScript(main);
