// The node that holds many contents: `count` small files shared on it with replication 1 (so the
// other nodes are not filled with copies of them; each still costs the holder its sweeps and its
// provider records). Each file is written, shared over the node's local socket and removed.

import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Fleet, SoakNode } from "./fleet";
import { mapLimit } from "../../node-host/util/concurrency";

const FILE_BYTES = 512;

/** Shares `count` small files on `node`; resolves with their content IDs. */
export async function loadHoldings(fleet: Fleet, node: SoakNode, count: number, progress: (n: number) => void): Promise<string[]> {
  const dir = path.join(path.dirname(node.logFile), "..", "holdings-files");
  fs.mkdirSync(dir, { recursive: true });
  let done = 0;
  const ids = await mapLimit(Array.from({ length: count }, (_, i) => i), 8, async (i) => {
    const file = path.join(dir, `h${i}.bin`);
    fs.writeFileSync(file, randomBytes(FILE_BYTES));
    const share = await fleet.call(node, "content.share", { path: file, replication: 1, force: true }, 120_000);
    fs.rmSync(file);
    if (++done % 1000 === 0) progress(done);
    return share.contentId;
  });
  fs.rmSync(dir, { recursive: true, force: true });
  return ids;
}

/**
 * How many of `sample` contents of the holdings node another node finds it holding (`content.status`:
 * a provider record names it and it answers that it holds them all).
 */
export async function holdingsFound(fleet: Fleet, holder: SoakNode, observer: SoakNode, sample: string[]): Promise<number> {
  const found = await mapLimit(sample, 4, async (id) => {
    const status = await fleet.call(observer, "content.status", { link: id }, 30_000).catch(() => null);
    return status?.holders.some((h) => h.id === holder.id && h.live && h.complete !== false) ?? false;
  });
  return found.filter(Boolean).length;
}
