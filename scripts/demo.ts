// A local demo network: several `peershare` node processes on 127.0.0.1 join each other; then the
// demo runs the CLI against them as a user would, printing each command and its output: DHT
// lookups, then a file shared on one node and fetched on two others, with the sha256sum of each.
//
//   npm run demo -- [nodes]      (default 6)

import { spawn, execFileSync, ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const BIN = path.resolve(__dirname, "..", "..", "bin", "peershare.js");
const count = Math.max(2, Number(process.argv[2]) || 6);
const root = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-demo-"));
const procs: ChildProcess[] = [];
// The demo nodes keep their keys in passphrase-protected files in their (temporary) data dirs.
const nodeEnv = { ...process.env, PEERSHARE_PASSPHRASE: "peershare demo" };

function peershare(dataDir: string, args: string[], show = true): string {
  if (show) process.stdout.write(`\n$ peershare ${args.map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(" ")} --data-dir ${path.relative(root, dataDir) || "."}\n`);
  const out = execFileSync(process.execPath, [BIN, ...args, "--data-dir", dataDir], { encoding: "utf8" });
  if (show) process.stdout.write(out);
  return out;
}

async function startNode(i: number, bootstrap?: number): Promise<{ dir: string; port: number }> {
  const dir = path.join(root, `node${i}`);
  const args = [BIN, "start", "--data-dir", dir, "--port", "0", "--host", "127.0.0.1", "--json"];
  if (bootstrap) args.push("--bootstrap", `127.0.0.1:${bootstrap}`);
  const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "ignore"], env: nodeEnv });
  procs.push(proc);
  let out = "";
  for await (const chunk of proc.stdout!) {
    out += chunk;
    if (out.includes("}")) break;
  }
  return { dir, port: (JSON.parse(out) as { port: number }).port };
}

async function main(): Promise<void> {
  process.stdout.write(`Starting ${count} peershare nodes on 127.0.0.1 (data in ${root})\n`);
  const first = await startNode(0);
  const nodes = [first];
  for (let i = 1; i < count; i++) nodes.push(await startNode(i, nodes[Math.floor(Math.random() * nodes.length)].port));
  await new Promise((r) => setTimeout(r, 1500)); // let the joins' refresh lookups spread
  const [a, b, c] = [nodes[0], nodes[1], nodes[count - 1]];
  peershare(a.dir, ["id"]);
  peershare(a.dir, ["peers"]);
  const put = peershare(b.dir, ["dht", "put", "greeting", "hello from node1"]);
  const key = put.split("\n")[0].trim();
  peershare(c.dir, ["dht", "get", key]);
  peershare(c.dir, ["dht", "lookup", key]);
  peershare(a.dir, ["dht", "closest", "any text is a key", "-n", "3"]);
  peershare(c.dir, ["routing"]);

  // a file: shared (encrypted) on node0, fetched on the last node and then on node1 (from two holders)
  const file = path.join(root, "team-notes.bin");
  fs.writeFileSync(file, Buffer.concat([Buffer.from("peershare demo file\n"), randomBytes(24 << 20)]));
  const share = JSON.parse(peershare(a.dir, ["share", file, "--json"], false)) as { link: string };
  peershare(a.dir, ["share", file]);
  const outC = path.join(root, "fetched-by-last");
  const outB = path.join(root, "fetched-by-node1");
  peershare(c.dir, ["fetch", share.link, "-o", outC + path.sep]);
  peershare(b.dir, ["fetch", share.link, "-o", outB + path.sep]);
  process.stdout.write(`\n$ sha256sum (original and both copies)\n`);
  for (const f of [file, path.join(outC, "team-notes.bin"), path.join(outB, "team-notes.bin")]) {
    process.stdout.write(`${createHash("sha256").update(fs.readFileSync(f)).digest("hex")}  ${path.relative(root, f)}\n`);
  }
}

/** Stops the nodes (a graceful leave; SIGKILL after 10 s), then removes the demo's temp dir. */
async function cleanup(): Promise<void> {
  const running = procs.filter((p) => p.exitCode === null && p.signalCode === null);
  const gone = running.map((p) => new Promise((resolve) => p.once("exit", resolve)));
  for (const p of running) p.kill("SIGTERM");
  const killer = setTimeout(() => running.forEach((p) => p.kill("SIGKILL")), 10_000);
  await Promise.all(gone);
  clearTimeout(killer);
  fs.rmSync(root, { recursive: true, force: true });
}

main().then(
  async () => {
    process.stdout.write(`\nDemo done; stopping the nodes.\n`);
    await cleanup();
  },
  async (err) => {
    process.stderr.write(`demo failed: ${(err as Error).message}\n`);
    process.exitCode = 1;
    await cleanup();
  },
);
