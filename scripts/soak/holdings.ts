// The node that holds many contents: `count` small files shared on it with replication 1 (so the
// other nodes are not filled with copies of them; each still costs the holder its sweeps and its
// provider records). Each file is written, shared over the node's local socket and removed.

import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Fleet, SoakNode } from "./fleet";
import { mapLimit } from "../../node-host/util/concurrency";

const FILE_BYTES = 512;

export async function loadHoldings(fleet: Fleet, node: SoakNode, count: number, progress: (n: number) => void): Promise<void> {
  const dir = path.join(path.dirname(node.logFile), "..", "holdings-files");
  fs.mkdirSync(dir, { recursive: true });
  let done = 0;
  await mapLimit(Array.from({ length: count }, (_, i) => i), 8, async (i) => {
    const file = path.join(dir, `h${i}.bin`);
    fs.writeFileSync(file, randomBytes(FILE_BYTES));
    await fleet.call(node, "content.share", { path: file, replication: 1, force: true }, 120_000);
    fs.rmSync(file);
    if (++done % 1000 === 0) progress(done);
  });
  fs.rmSync(dir, { recursive: true, force: true });
}
