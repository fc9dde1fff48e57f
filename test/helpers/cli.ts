// Runs the real `peershare` command and real node processes for integration tests.

import { ChildProcess, execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline";
import assert from "node:assert/strict";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import type { FetchInfo, TransferInfo } from "../../node-host/rpc/api-types";
import { tempDir } from "./temp-dir";

export const ROOT = path.resolve(__dirname, "..", "..", "..");
export const BIN = path.join(ROOT, "bin", "peershare.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; like startNode, with TEST_PASSPHRASE for a `start`, unless `env` is given (then exactly that). */
export function cli(args: string[], timeoutMs = 60_000, env?: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    const childEnv = env ?? { ...process.env, PEERSHARE_PASSPHRASE: TEST_PASSPHRASE };
    execFile(process.execPath, [BIN, ...args], { timeout: timeoutMs, maxBuffer: 64 << 20, env: childEnv }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a CLI verb with --json against a data dir and parses the output; throws with stderr on failure. */
export async function cliJson<T = unknown>(dataDir: string, args: string[]): Promise<T> {
  const r = await cli([...args, "--data-dir", dataDir, "--json"]);
  if (r.code !== 0) throw new Error(`peershare ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export interface RunningNode {
  dataDir: string;
  id: string;
  port: number;
  proc: ChildProcess;
  stderr: () => string;
}

/** The passphrase test nodes protect their key files with (see startNode). */
export const TEST_PASSPHRASE = "peershare test passphrase";

/** Creates a node's data dir with these settings in its config.json (read at the node's start). */
export function writeConfig(dataDir: string, config: Record<string, unknown>): void {
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(path.join(dataDir, "config.json"), JSON.stringify(config));
}

export { tempDir } from "./temp-dir";

/** Writes `bytes` random bytes to `file` (making its folder); returns `file`. */
export function randomFile(file: string, bytes: number): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, randomBytes(bytes));
  return file;
}

/** `peershare fetch LINK --json` on a node, into a fresh temp folder; the fetch's result (its done event). */
export async function fetchInto(node: { dataDir: string }, link: string, timeoutMs = 60_000): Promise<FetchInfo> {
  const out = tempDir("fetched");
  const r = await cli(["fetch", link, "-o", out + path.sep, "--json", "--data-dir", node.dataDir], timeoutMs);
  if (r.code !== 0) throw new Error(`peershare fetch failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as FetchInfo;
}

/**
 * Starts `peershare start` as its own process and waits until it listens. Its keys go to a key
 * file under TEST_PASSPHRASE, unless `env` is given: then the process gets exactly that environment.
 * `wrap` is a command prefix that execs node (e.g. `ip netns exec NS`); `extra` may override --host.
 */
export async function startNode(dataDir: string, bootstrap: string[] = [], extra: string[] = [], env?: NodeJS.ProcessEnv, wrap: string[] = []): Promise<RunningNode> {
  return launchNode(dataDir, [...wrap, process.execPath, BIN], bootstrap, extra, env);
}

/**
 * startNode with the command that runs the `peershare` CLI given whole (another Node.js and script:
 * a packaged node-host under an emulator, say), and a start time to allow for it.
 */
export async function launchNode(dataDir: string, command: string[], bootstrap: string[] = [], extra: string[] = [], env?: NodeJS.ProcessEnv, startTimeoutMs = 20_000): Promise<RunningNode> {
  const args = ["start", "--data-dir", dataDir, "--port", "0", "--host", "127.0.0.1", "--json", ...bootstrap.flatMap((b) => ["--bootstrap", b]), ...extra];
  const [program, ...prefix] = command;
  const proc = spawn(program, [...prefix, ...args], { stdio: ["ignore", "pipe", "pipe"], env: env ?? { ...process.env, PEERSHARE_PASSPHRASE: TEST_PASSPHRASE } });
  let out = "";
  let err = "";
  proc.stderr!.on("data", (d) => (err += d));
  proc.stdout!.on("data", (d) => (out += d));
  const deadline = Date.now() + startTimeoutMs;
  while (!out.includes("}")) {
    if (proc.exitCode !== null) throw new Error(`node exited early: ${err}`);
    if (Date.now() > deadline) throw new Error(`node did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const info = JSON.parse(out) as { id: string; port: number };
  return { dataDir, id: info.id, port: info.port, proc, stderr: () => err };
}

/**
 * Files under `dir` (recursively) that hold a private key in the clear: a PEM private key header,
 * or `seed` as raw bytes, hex or base64. Empty when nothing leaks.
 */
export function plaintextKeyFiles(dir: string, seed: Buffer): string[] {
  return filesContaining(dir, [Buffer.from("PRIVATE KEY-----"), seed, Buffer.from(seed.toString("hex")), Buffer.from(seed.toString("base64").replace(/=+$/, "")), Buffer.from(seed.toString("base64url"))]);
}

/** Files under `dir` (recursively) whose bytes contain any of `needles`. */
export function filesContaining(dir: string, needles: Buffer[]): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && needles.some((n) => fs.readFileSync(p).includes(n))) found.push(p);
    }
  };
  walk(dir);
  return found;
}

/** Resolves when the process has exited (at once if it already has). */
export async function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  await once(proc, "exit");
}

export async function stopNode(node: RunningNode, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (node.proc.exitCode !== null || node.proc.signalCode !== null) return;
  node.proc.kill(signal);
  await exited(node.proc);
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}

/**
 * Runs `peershare fetch LINK -o OUT --json` on a node, calling onProgress for each progress event;
 * `exited` resolves with the exit code, the done event and stderr.
 */
export function fetchStreaming(node: RunningNode, link: string, out: string, onProgress: (t: TransferInfo) => void = () => undefined, extra: string[] = []) {
  const proc = spawn(process.execPath, [BIN, "fetch", link, "-o", out, "--json", "--data-dir", node.dataDir, ...extra], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  proc.stderr.on("data", (d) => (stderr += d));
  let done: FetchInfo | null = null;
  readline.createInterface({ input: proc.stdout }).on("line", (line) => {
    const event = JSON.parse(line) as { event: string } & TransferInfo & FetchInfo;
    if (event.event === "progress") onProgress(event);
    else if (event.event === "done") done = event;
  });
  const exited = new Promise<{ code: number | null; done: FetchInfo | null; stderr: string }>((resolve) => proc.on("close", (code) => resolve({ code, done, stderr })));
  return { proc, exited };
}

/** A fetch that must succeed (exit status 0); resolves with its result. */
export async function fetchOk(node: RunningNode, link: string, out: string, extra: string[] = []): Promise<FetchInfo> {
  const r = await fetchStreaming(node, link, out, undefined, extra).exited;
  assert.equal(r.code, 0, r.stderr);
  return r.done!;
}
