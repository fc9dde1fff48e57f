// A node that runs for one command and leaves: `peershare fetch` and `cat` when no node runs for the
// data dir, and `peershare share --once` (as croc and sendme do it, with no daemon). It is a whole
// node (daemon.ts: its control socket too, so the command talks to it as to any node), made
// ephemeral (node.ts: no replicas taken, no repair sweeps, nothing handed on at the end), on a free
// port, in this process: when the command ends, nothing of it runs on.
//
// Whose node: the data dir's, when it has keys and no node runs there (its identity, its teams, its
// store and settings); otherwise a throwaway one, with a new identity kept in memory and a store in a
// temporary directory that goes when it stops (the one of a process killed before that goes at the
// next one-off start). Either joins through the configured bootstrap nodes and LAN discovery, and
// a link's address hints are followed by the fetch itself.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Daemon, runDaemon } from "./daemon";
import { PeershareNode } from "./node";
import { KEY_FILE, KEYCHAIN_MARKER, MemoryKeyStore } from "./security/key-store";

const TEMP_PREFIX = "peershare-oneshot-";
/** How long a node with nobody to join but its LAN listens for LAN announcements before it goes on. */
const LAN_WAIT_MS = 2000;

export interface OneShotOptions {
  /** The data dir the command names (--data-dir). */
  dataDir: string;
  /** Always a throwaway node, even when the data dir has keys (`share --once`). */
  throwaway?: boolean;
  bootstrap?: string[];
  /** With no bootstrap nodes answering, listen briefly for nodes on the LAN before going on (default true). */
  waitForLan?: boolean;
  log: (line: string) => void;
}

export interface OneShot {
  node: PeershareNode;
  /** The data dir it runs on (a temporary one for a throwaway node): its control socket is there. */
  dataDir: string;
  /** Whether it has a throwaway identity. */
  throwaway: boolean;
  /** Leaves the network, stops, and removes a throwaway node's directory. */
  stop(): Promise<void>;
}

/** Whether a node has made its keys in this data dir (a key file, the keychain marker, or a pre-key-store identity.pem). */
export function hasKeys(dataDir: string): boolean {
  return [KEY_FILE, KEYCHAIN_MARKER, "identity.pem"].some((f) => fs.existsSync(path.join(dataDir, f)));
}

export async function startOneShot(o: OneShotOptions): Promise<OneShot> {
  const throwaway = o.throwaway === true || !hasKeys(o.dataDir);
  const dir = throwaway ? throwawayDir(o.dataDir) : o.dataDir;
  let daemon: Daemon;
  try {
    daemon = await runDaemon({ dataDir: dir, port: 0, bootstrap: o.bootstrap, ephemeral: true, keys: throwaway ? new MemoryKeyStore() : undefined, log: o.log });
  } catch (err) {
    if (throwaway) fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const stop = async () => {
    await daemon.stop("one-off command done");
    if (throwaway) fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await joined(daemon.node, o.waitForLan !== false);
  } catch (err) {
    await stop();
    throw err;
  }
  return { node: daemon.node, dataDir: dir, throwaway, stop };
}

/** Waits until the node has joined through its bootstrap nodes, or (`waitForLan`) has heard from its LAN, briefly. */
async function joined(node: PeershareNode, waitForLan: boolean): Promise<void> {
  await node.join();
  const deadline = Date.now() + (waitForLan ? LAN_WAIT_MS : 0);
  while (node.dht.table.size === 0 && node.lanDiscovery && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}

/** A new temporary data dir, with the settings of the data dir named (bootstrap nodes, LAN discovery, …); stale ones are removed first. */
function throwawayDir(dataDir: string): string {
  removeStaleDirs();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${TEMP_PREFIX}${process.pid}-`));
  const config = path.join(dataDir, "config.json");
  if (fs.existsSync(config)) fs.copyFileSync(config, path.join(dir, "config.json"));
  return dir;
}

/** Removes the temporary dirs of one-off nodes whose process no longer runs (killed before they could). */
function removeStaleDirs(): void {
  let names: string[];
  try {
    names = fs.readdirSync(os.tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(new RegExp(`^${TEMP_PREFIX}(\\d+)-`).exec(name)?.[1]);
    if (pid && pid !== process.pid && !alive(pid)) fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // someone else's process
  }
}
