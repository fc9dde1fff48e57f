// The faults the soak throws in, besides churn:
//   - a corrupt holder: a DHT node in this process that announces itself as a holder of every file
//     shared and serves each object it is asked for with one bit flipped (fetchers must drop it);
//   - garbage: bursts of fuzzed datagrams (test/fuzz/datagrams.ts) and TLS connections carrying
//     fuzzed bulk frames (test/fuzz/bulk-frames.ts) at a random live node;
//   - a full disk: one node's data dir is a small tmpfs (needs root; skipped without it);
//   - a clock 10 minutes off: one node runs under Debian's faketime (skipped without it).

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Fleet, SoakNode } from "./fleet";
import { Ledger } from "./ledger";
import { startFakeHolder, FakeHolder } from "../../test/helpers/fake-holder";
import { UdpAgents } from "../../test/fuzz/udp-agents";
import { connectTls, FrameFuzzer, newSessionCounts, runSession } from "../../test/fuzz/bulk-frames";
import { seededIdentity } from "../../test/fuzz/datagrams";
import { Prng } from "../../test/fuzz/prng";
export { shiftedClock } from "../../test/helpers/faketime";

/** A holder that flips a bit in every object it serves, reading the real bytes from the fleet's stores. */
export async function startCorruptHolder(fleet: Fleet, ledger: Ledger): Promise<FakeHolder> {
  return startFakeHolder(fleet.seed.port, {
    getObject: async (id) => {
      const hex = id.toString("hex");
      for (const n of fleet.nodes) {
        try {
          const bytes = fs.readFileSync(path.join(n.dataDir, "store", "objects", hex.slice(0, 2), hex.slice(2)));
          bytes[bytes.length >> 1] ^= 0x01;
          ledger.ok("corrupt-served");
          return bytes;
        } catch {
          // not held there
        }
      }
      return null;
    },
  });
}

/** One burst of garbage at `node`: fuzzed datagrams from a few agents, then fuzzed bulk sessions over TLS. */
export async function garbageBurst(fleet: Fleet, node: SoakNode, rng: Prng, ledger: Ledger, datagrams = 400): Promise<void> {
  const publicKey = Buffer.from((await fleet.call(node, "node.info", {}, 10_000)).publicKey, "hex");
  const agents = await UdpAgents.open(rng.fork(), 4, { publicKey, port: node.port });
  try {
    await agents.introduce();
    await agents.run(datagrams, 400);
  } finally {
    await agents.close();
  }
  const identity = seededIdentity(rng);
  const counts = newSessionCounts();
  for (const hello of ["valid", "none", "malformed"] as const) {
    const conn = await connectTls(node.port).catch(() => null);
    if (!conn) continue;
    const sessionRng = rng.fork();
    await runSession(conn, identity, new FrameFuzzer(sessionRng.fork()), sessionRng, { hello, batches: hello === "valid" ? 4 : 0, batch: 8, maxPiece: 4096, fatal: true }, counts, 3000).catch(() => undefined);
    conn.close();
  }
  ledger.ok("garbage", datagrams + counts.frames);
}

/** Mounts a tmpfs of `mib` MiB at `dir` (root only); returns the unmount, or null when it cannot. */
export function mountSmallDisk(dir: string, mib: number): (() => void) | null {
  if (process.getuid?.() !== 0) return null;
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${mib}m,mode=0700`, "tmpfs", dir], { stdio: "ignore" });
  } catch {
    return null;
  }
  return () => {
    try {
      execFileSync("umount", ["-l", dir], { stdio: "ignore" });
    } catch {
      // already gone
    }
  };
}
