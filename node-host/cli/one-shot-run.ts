// Verbs that work without a running node: `fetch`, `cat` and `ls LINK` run a one-off node (one-shot.ts) when
// none runs for the data dir, and `share --once` always does: it shares from a throwaway node,
// prints the link, serves until one node has fetched every object of it (or Ctrl-C), and leaves.

import { toHex } from "../dht/id";
import { contentObjects } from "../cas/manifest-links";
import { connectLocal, NoNodeRunningError } from "../rpc/local-socket";
import { ShareInfo } from "../rpc/api-types";
import { OneShot, startOneShot } from "../one-shot";
import { PeershareNode } from "../node";
import { dataDirOf, Flags } from "./args";

/** How long `share --once` waits to learn how its node is reached (its link names the way in). */
const NAT_WAIT_MS = 15_000;
/** After the last object went out: the fetcher disconnects, or the node sends nothing for this long. */
const DRAIN_QUIET_MS = 5000;
const DRAIN_MAX_MS = 60_000;
/** A one-off node's last log lines, shown when the command fails. */
const LOG_LINES_KEPT = 20;

/** A one-off node's log: kept quiet, and shown (its last lines) only when the command fails. */
function quietLog(): { log: (line: string) => void; dump: () => void } {
  const lines: string[] = [];
  return {
    log: (line) => {
      lines.push(`${new Date().toISOString()} ${line}`);
      if (lines.length > LOG_LINES_KEPT) lines.shift();
    },
    dump: () => process.stderr.write(lines.map((l) => `  (one-off node) ${l}\n`).join("")),
  };
}

/**
 * Runs `run` against the node running for --data-dir, or else against a one-off node started for
 * it (`oneShot` then says so). `waitForLan`: a node with no bootstrap listens briefly for its LAN first.
 */
export async function withNodeOrOneShot<T>(flags: Flags, waitForLan: boolean, run: (dataDir: string, oneShot: OneShot | null) => Promise<T>): Promise<T> {
  const dataDir = dataDirOf(flags);
  const running = await connectLocal(dataDir).catch((err: Error) => (err instanceof NoNodeRunningError ? null : Promise.reject(err)));
  if (running) {
    running.close();
    return run(dataDir, null);
  }
  const { log, dump } = quietLog();
  const oneShot = await startOneShot({ dataDir, bootstrap: flags.bootstrap, waitForLan, log });
  try {
    return await run(oneShot.dataDir, oneShot);
  } catch (err) {
    dump();
    throw err;
  } finally {
    await oneShot.stop();
  }
}

/** `share PATH --once`: from a throwaway node, until one node has fetched it; `print` shows the share (the link) when it is made. */
export async function shareOnce(flags: Flags, params: { path: string; public: boolean; force: boolean }, print: (r: ShareInfo) => void): Promise<void> {
  const { log, dump } = quietLog();
  const oneShot = await startOneShot({ dataDir: dataDirOf(flags), throwaway: true, bootstrap: flags.bootstrap, waitForLan: true, log });
  try {
    const { node } = oneShot;
    await learnReach(node, flags.json !== true);
    const client = await connectLocal(oneShot.dataDir);
    const r = await client.call("content.share", { ...params, replication: 1, hints: flags["no-hints"] !== true }).finally(() => client.close());
    print(r);
    const fetcher = await fetchedOnce(node, r);
    if (fetcher) await drained(node);
    if (flags.json) process.stdout.write(JSON.stringify({ event: fetcher ? "fetched" : "stopped", node: fetcher }) + "\n");
    else process.stderr.write(fetcher ? `fetched by node ${fetcher.slice(0, 16)}…; stopping\n` : "stopped before anyone fetched it\n");
  } catch (err) {
    dump();
    throw err;
  } finally {
    await oneShot.stop();
  }
}

/** Waits (up to NAT_WAIT_MS) until the node knows whether it can be reached and, behind NAT, has rendezvous nodes. */
async function learnReach(node: PeershareNode, say: boolean): Promise<void> {
  const known = () => {
    const s = node.nat.status();
    return node.dht.table.size === 0 || s.reachability === "reachable" || (s.reachability === "unreachable" && s.rendezvous.length > 0);
  };
  if (known()) return;
  if (say) process.stderr.write("finding out how this node can be reached…\n");
  const deadline = Date.now() + NAT_WAIT_MS;
  while (!known() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
}

/** The ID (hex) of the first node served every object of the share (a file's or a folder's); null when the node stopped first (Ctrl-C). */
async function fetchedOnce(node: PeershareNode, share: ShareInfo): Promise<string | null> {
  const objects = await contentObjects(Buffer.from(share.contentId, "hex"), (id) => node.content.store.get(id));
  if (!objects) throw new Error(`the store lacks part of share ${share.contentId}`);
  const wanted = new Set(objects.ids.map(toHex)); // a file's manifest and chunks; a folder's every object
  const served = new Map<string, Set<string>>();
  try {
    return await new Promise<string | null>((resolve) => {
      node.once("stopped", () => resolve(null));
      node.content.onServed = (requester, id) => {
        const key = toHex(requester);
        if (!wanted.has(toHex(id))) return;
        if (!served.has(key) && served.size >= 1024) return; // bounded: a flood of strangers is not tracked
        const got = served.get(key) ?? new Set<string>();
        got.add(toHex(id));
        served.set(key, got);
        if (got.size === wanted.size) resolve(key);
      };
    });
  } finally {
    node.content.onServed = null;
  }
}

/** Waits until the last replies have gone: the fetcher disconnected, or nothing was sent for a while. */
async function drained(node: PeershareNode): Promise<void> {
  const { tls, webrtc } = node.bulk.stats;
  const deadline = Date.now() + DRAIN_MAX_MS;
  let sent = tls.bytesOut + webrtc.bytesOut;
  let quietSince = Date.now();
  while (Date.now() < deadline && tls.connectionsOpen + webrtc.connectionsOpen > 0 && Date.now() - quietSince < DRAIN_QUIET_MS) {
    await new Promise((r) => setTimeout(r, 200));
    const now = tls.bytesOut + webrtc.bytesOut;
    if (now !== sent) [sent, quietSince] = [now, Date.now()];
  }
}
