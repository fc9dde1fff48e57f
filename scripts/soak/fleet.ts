// The soak's node processes: real `peershare start` processes on 127.0.0.1, each with its data dir,
// its log file (stdout and stderr, kept outside the data dir so a full disk does not swallow it) and
// a local control connection. The fleet starts, stops gracefully, SIGKILLs and restarts them, and
// records every exit it did not cause as a crash. They run with the environment the VS Code
// extension and the example systemd unit give a node (the C library's memory settings,
// platform/malloc-env.ts).

import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { BIN, TEST_PASSPHRASE } from "../../test/helpers/cli";
import { connectLocal, LocalClient } from "../../node-host/rpc/local-socket";
import type { Api, ApiMethod } from "../../node-host/rpc/api-types";
import { withMallocSettings } from "../../node-host/platform/malloc-env";

/** What a node is in the soak for. */
export type Role = "seed" | "regular" | "fresh" | "full-disk" | "skewed" | "holdings" | "auditor";

export interface Crash {
  node: string;
  at: number;
  code: number | null;
  signal: string | null;
  /** The end of its log. */
  tail: string;
}

export interface SoakNode {
  name: string;
  role: Role;
  dataDir: string;
  logFile: string;
  /** Command prefix that execs node (faketime for the skewed clock). */
  wrap: string[];
  proc: ChildProcess | null;
  id: string;
  port: number;
  /** Starts so far; a restart makes a new incarnation (new pid, new memory). */
  starts: number;
  /** Stops and kills the fleet began so far (an op on a node being stopped is cut short, not failed). */
  stops: number;
  /** Left for good (a graceful leave that is not followed by a restart). */
  retired: boolean;
  /** Being started, stopped or killed by the fleet (its process may run, but it takes no work). */
  transitioning: boolean;
  /** The control connection being made or made (shared by concurrent calls). */
  client: Promise<LocalClient> | null;
  /** The process `client` is connected to (a client of an earlier incarnation is never reused). */
  clientOf: ChildProcess | null;
}

const START_TIMEOUT_MS = 60_000;

export class Fleet {
  readonly nodes: SoakNode[] = [];
  readonly crashes: Crash[] = [];
  /** Processes the fleet is stopping or killing itself: their exit is not a crash. */
  private readonly stopping = new Set<ChildProcess>();

  constructor(
    private readonly root: string,
    /** Settings every node's config.json starts with. */
    private readonly config: Record<string, unknown>,
  ) {
    fs.mkdirSync(path.join(root, "logs"), { recursive: true });
  }

  get seed(): SoakNode {
    return this.nodes[0];
  }

  /** Nodes whose process runs now and is not being stopped. */
  live(filter: (n: SoakNode) => boolean = () => true): SoakNode[] {
    return this.nodes.filter((n) => isUp(n) && !n.transitioning && filter(n));
  }

  byId(id: string): SoakNode | undefined {
    return this.nodes.find((n) => n.id === id);
  }

  /**
   * Adds a node and starts it, joining through the seed. `prepareDir` runs on the empty data dir
   * before config.json is written (the full-disk node mounts its tmpfs there); `config` adds to or
   * overrides the fleet's settings.
   */
  async add(name: string, role: Role, options: { wrap?: string[]; config?: Record<string, unknown>; prepareDir?: (dir: string) => void } = {}): Promise<SoakNode> {
    const dataDir = path.join(this.root, "nodes", name);
    fs.mkdirSync(dataDir, { recursive: true });
    options.prepareDir?.(dataDir);
    fs.writeFileSync(path.join(dataDir, "config.json"), JSON.stringify({ ...this.config, ...options.config }));
    const node: SoakNode = { name, role, dataDir, logFile: path.join(this.root, "logs", `${name}.log`), wrap: options.wrap ?? [], proc: null, id: "", port: 0, starts: 0, stops: 0, retired: false, transitioning: false, client: null, clientOf: null };
    this.nodes.push(node);
    await this.start(node);
    return node;
  }

  /** Starts the node's process (again, with the same data dir) and waits until it listens. */
  async start(node: SoakNode): Promise<void> {
    const bootstrap = node === this.seed ? [] : ["--bootstrap", `127.0.0.1:${this.seed.port}`];
    const args = ["start", "--data-dir", node.dataDir, "--port", "0", "--host", "127.0.0.1", "--json", ...bootstrap];
    const outFile = `${node.logFile}.start-${node.starts}`;
    const out = fs.openSync(outFile, "w");
    const err = fs.openSync(node.logFile, "a");
    const [program, ...prefix] = [...node.wrap, process.execPath, BIN];
    const proc = spawn(program, [...prefix, ...args], { stdio: ["ignore", out, err], env: { ...withMallocSettings(process.env), PEERSHARE_PASSPHRASE: TEST_PASSPHRASE } });
    fs.closeSync(out);
    fs.closeSync(err);
    proc.once("exit", (code, signal) => {
      if (!this.stopping.delete(proc)) this.crashes.push({ node: node.name, at: Date.now(), code, signal, tail: tailOf(node.logFile) });
    });
    node.proc = proc;
    node.starts++;
    node.retired = false;
    node.transitioning = true; // no work for it until it listens
    const deadline = Date.now() + START_TIMEOUT_MS;
    let text = "";
    while (!text.includes("}")) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${node.name} exited while starting: ${tailOf(node.logFile)}`);
      if (Date.now() > deadline) throw new Error(`${node.name} did not start within ${START_TIMEOUT_MS / 1000} s: ${tailOf(node.logFile)}`);
      await sleep(50);
      text = fs.readFileSync(outFile, "utf8");
    }
    fs.rmSync(outFile, { force: true });
    const info = JSON.parse(text) as { id: string; port: number };
    node.id = info.id;
    node.port = info.port;
    node.transitioning = false;
  }

  /** Calls the node's JSON-RPC API over its local socket (connecting on first use). */
  async call<M extends ApiMethod>(node: SoakNode, method: M, params: Api[M][0], timeoutMs = 60_000): Promise<Api[M][1]> {
    if (!isUp(node) || node.transitioning) throw new Error(`${node.name} is not running (or is starting or stopping)`);
    if (node.client && node.clientOf !== node.proc) this.dropClient(node);
    if (!node.client) {
      const connecting = connectLocal(node.dataDir);
      [node.client, node.clientOf] = [connecting, node.proc];
      connecting.catch(() => node.client === connecting && this.dropClient(node));
    }
    try {
      return await (await node.client).call(method, params, timeoutMs);
    } catch (err) {
      if (!isUp(node) || /closed the connection/.test(String(err))) this.dropClient(node);
      throw err;
    }
  }

  /** Graceful stop (SIGTERM: the node hands its files on first); waits for the exit. */
  async stop(node: SoakNode): Promise<void> {
    await this.end(node, "SIGTERM");
  }

  /** SIGKILL: the node gets no chance to hand anything on. */
  async kill(node: SoakNode): Promise<void> {
    await this.end(node, "SIGKILL");
  }

  /** Ends every process (gracefully, then SIGKILL for any still up after `graceMs`). */
  async stopAll(graceMs = 20_000): Promise<void> {
    await Promise.all(
      this.nodes.filter(isUp).map(async (n) => {
        const timer = setTimeout(() => n.proc?.kill("SIGKILL"), graceMs);
        await this.stop(n);
        clearTimeout(timer);
      }),
    );
  }

  /** Synchronous last resort (process exit, an interrupt): SIGKILL whatever still runs. */
  killAllNow(): void {
    for (const n of this.nodes.filter(isUp)) {
      this.stopping.add(n.proc!);
      n.proc!.kill("SIGKILL");
    }
  }

  private async end(node: SoakNode, signal: NodeJS.Signals): Promise<void> {
    const proc = node.proc;
    node.stops++;
    node.transitioning = true;
    this.dropClient(node);
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    this.stopping.add(proc);
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill(signal);
    await exited;
  }

  private dropClient(node: SoakNode): void {
    node.client?.then((c) => c.close(), () => undefined);
    node.client = null;
    node.clientOf = null;
  }
}

/** Changes whenever the fleet stops, kills or starts the node: an op that saw it change was cut short by churn. */
export function lifeOf(node: SoakNode): number {
  return node.starts + node.stops;
}

export function isUp(node: SoakNode): boolean {
  return node.proc !== null && node.proc.exitCode === null && node.proc.signalCode === null;
}

/** The last `bytes` of a log file (empty when there is none). */
export function tailOf(file: string, bytes = 2000): string {
  try {
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, "r");
    try {
      const buf = Buffer.alloc(Math.min(bytes, size));
      fs.readSync(fd, buf, 0, buf.length, size - buf.length);
      return buf.toString("utf8");
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return "";
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
