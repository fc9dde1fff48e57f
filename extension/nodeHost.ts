// Runs the node-host child process and speaks JSON-RPC 2.0 to it over stdio (one JSON message
// per line on stdin/stdout; the node logs on stderr). Restarts it with back-off when it dies.
// No VS Code API here: nodeLauncher.ts supplies the logger; the features react to the events.
import { spawn, type ChildProcess } from "node:child_process";
import { JSONRPCClient, JSONRPCServer, JSONRPCServerAndClient } from "json-rpc-2.0";
import type { Api, ApiMethod, Notifications } from "../node-host/rpc/api-types";
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from "./backoff";

export interface Logger {
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export type NodeHostState =
  | { kind: "stopped" }
  | { kind: "starting"; attempt: number }
  | { kind: "running"; pid: number }
  | { kind: "restarting"; delayMs: number; attempt: number; reason: string }
  | { kind: "failed"; reason: string };

export interface NodeHostOptions {
  /** Executable (a Node.js runtime) and its arguments (the script first). */
  command: string;
  args: () => string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logger: Logger;
  backoff?: BackoffOptions;
  /** Per-request timeout, ms. */
  requestTimeoutMs?: number;
  /** How long the node may take to answer its first node.info. */
  startTimeoutMs?: number;
  /** Grace period after node.stop before the process is killed. */
  stopTimeoutMs?: number;
}

type Params<M extends ApiMethod> = Api[M][0];
type Result<M extends ApiMethod> = Api[M][1];
type Listener<T> = (value: T) => void;

/** Maximum length of one line from the node before it is dropped (protects the parser). */
const MAX_LINE = 64 * 1024 * 1024;

export class NodeHost {
  private child: ChildProcess | undefined;
  private rpc: JSONRPCServerAndClient | undefined;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private wanted = false;
  private readonly backoff: Backoff;
  private currentState: NodeHostState = { kind: "stopped" };
  private readonly stateListeners = new Set<Listener<NodeHostState>>();
  private readonly readyListeners = new Set<Listener<void>>();
  private readonly notificationListeners = new Map<string, Set<Listener<unknown>>>();
  private startPromise: Promise<void> | undefined;

  constructor(private readonly options: NodeHostOptions) {
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF);
  }

  get state(): NodeHostState {
    return this.currentState;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get isRunning(): boolean {
    return this.currentState.kind === "running";
  }

  onState(listener: Listener<NodeHostState>): { dispose(): void } {
    this.stateListeners.add(listener);
    return { dispose: () => this.stateListeners.delete(listener) };
  }

  /** Fires each time a (re)started node has answered node.info. */
  onReady(listener: Listener<void>): { dispose(): void } {
    this.readyListeners.add(listener);
    return { dispose: () => this.readyListeners.delete(listener) };
  }

  onNotification<N extends keyof Notifications>(method: N, listener: Listener<Notifications[N]>): { dispose(): void } {
    let set = this.notificationListeners.get(method);
    if (!set) this.notificationListeners.set(method, (set = new Set()));
    const l = listener as Listener<unknown>;
    set.add(l);
    return { dispose: () => set.delete(l) };
  }

  /** Calls a method of the node's API. Rejects when the node is not running. */
  request<M extends ApiMethod>(method: M, params: Params<M>, timeoutMs?: number): Promise<Result<M>> {
    const rpc = this.rpc;
    if (!rpc || !this.child) return Promise.reject(new Error("the peershare node is not running"));
    const t = timeoutMs ?? this.options.requestTimeoutMs ?? 30_000;
    return Promise.resolve(rpc.timeout(t).request(method, params as Record<string, unknown>, undefined)) as Promise<Result<M>>;
  }

  /** Starts the node (if not running) and resolves once it answers node.info. */
  start(): Promise<void> {
    this.wanted = true;
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
    }
    if (this.child && this.startPromise) return this.startPromise;
    if (this.child && this.isRunning) return Promise.resolve();
    this.startPromise = this.spawnOnce();
    return this.startPromise;
  }

  /** Stops the node: node.stop, then SIGTERM/SIGKILL after the grace period. No restart follows. */
  async stop(): Promise<void> {
    this.wanted = false;
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
    }
    const child = this.child;
    if (!child) {
      this.setState({ kind: "stopped" });
      return;
    }
    const grace = this.options.stopTimeoutMs ?? 3000;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once("exit", () => resolve());
    });
    try {
      await Promise.race([this.request("node.stop", {}, grace), exited]);
    } catch (err) {
      this.options.logger.warn(`node.stop failed: ${errorText(err)}`);
    }
    const timedOut = await Promise.race([exited.then(() => false), delay(grace).then(() => true)]);
    if (timedOut) {
      this.options.logger.warn(`node-host (pid ${child.pid}) did not exit ${grace} ms after node.stop; terminating it`);
      child.kill("SIGTERM");
      if (await Promise.race([exited.then(() => false), delay(1000).then(() => true)])) child.kill("SIGKILL");
      await exited;
    }
    if (this.currentState.kind !== "stopped") this.setState({ kind: "stopped" });
  }

  /** Stops and starts again, forgetting past failures. */
  async restart(): Promise<void> {
    await this.stop();
    this.backoff.reset();
    await this.start();
  }

  dispose(): Promise<void> {
    return this.stop();
  }

  private setState(state: NodeHostState): void {
    this.currentState = state;
    for (const l of [...this.stateListeners]) {
      try {
        l(state);
      } catch (err) {
        this.options.logger.error(`state listener failed: ${errorText(err)}`);
      }
    }
  }

  private spawnOnce(): Promise<void> {
    const { logger } = this.options;
    const args = this.options.args();
    this.setState({ kind: "starting", attempt: this.backoff.attempt });
    logger.info(`starting node-host: ${this.options.command} ${args.map(quoteArg).join(" ")}`);
    let child: ChildProcess;
    try {
      child = spawn(this.options.command, args, {
        cwd: this.options.cwd,
        env: this.options.env ?? process.env,
        stdio: ["pipe", "pipe", "pipe"],
        windowsHide: true,
      });
    } catch (err) {
      return this.handleExit(undefined, `could not start: ${errorText(err)}`).then(() => {
        throw err;
      });
    }
    this.child = child;
    this.startedAt = Date.now();

    const rpc = new JSONRPCServerAndClient(
      new JSONRPCServer(),
      new JSONRPCClient((payload) => {
        if (!child.stdin || child.stdin.destroyed) return Promise.reject(new Error("the node's stdin is closed"));
        child.stdin.write(`${JSON.stringify(payload)}\n`);
        return Promise.resolve();
      }),
    );
    this.rpc = rpc;
    for (const method of ["peers.changed", "transfer.progress"]) {
      rpc.addMethod(method, (params) => {
        this.emitNotification(method, params);
        return null;
      });
    }
    // Any other notification the node sends: deliver it too instead of answering "method not found".
    rpc.applyServerMiddleware((next, request, serverParams) => {
      if (request.id === undefined && !rpc.hasMethod(request.method)) {
        this.emitNotification(request.method, request.params);
        return Promise.resolve(null);
      }
      return next(request, serverParams);
    });

    splitLines(child.stdout!, (line) => {
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        logger.warn(`node-host stdout (not JSON): ${line.slice(0, 500)}`);
        return;
      }
      rpc.receiveAndSend(message, undefined, undefined).catch((err) => logger.error(`rpc: ${errorText(err)}`));
    });
    splitLines(child.stderr!, (line) => logNodeLine(logger, line));
    child.stdin!.on("error", (err) => logger.debug(`node-host stdin: ${err.message}`));

    let exitHandled: Promise<void> | undefined;
    const onGone = (code: number | null, signal: NodeJS.Signals | null, err?: Error) => {
      if (exitHandled) return;
      const reason = err ? `could not run (${err.message})` : signal ? `was killed by ${signal}` : `exited with code ${code}`;
      exitHandled = this.handleExit(child, reason);
    };
    child.once("error", (err) => onGone(null, null, err));
    child.once("exit", (code, signal) => onGone(code, signal));

    const ready = (async () => {
      const deadline = Date.now() + (this.options.startTimeoutMs ?? 20_000);
      let lastError: unknown;
      while (this.child === child && Date.now() < deadline) {
        try {
          const info = await this.request("node.info", {}, Math.max(500, Math.min(5000, deadline - Date.now())));
          logger.info(`node-host ready: id ${info.id} on ${info.host}:${info.port} (pid ${info.pid}, version ${info.version})`);
          return;
        } catch (err) {
          lastError = err;
          if (this.child !== child) break;
          await delay(200);
        }
      }
      throw new Error(`the node did not start: ${errorText(lastError ?? "it exited")}`);
    })();

    return ready.then(
      () => {
        this.startPromise = undefined;
        if (this.child !== child) throw new Error("the node exited while starting");
        this.setState({ kind: "running", pid: child.pid ?? 0 });
        for (const l of [...this.readyListeners]) {
          try {
            l();
          } catch (err) {
            logger.error(`ready listener failed: ${errorText(err)}`);
          }
        }
      },
      (err) => {
        this.startPromise = undefined;
        if (this.child === child) {
          logger.error(errorText(err));
          child.kill("SIGKILL");
        }
        throw err;
      },
    );
  }

  private async handleExit(child: ChildProcess | undefined, reason: string): Promise<void> {
    const { logger } = this.options;
    if (child && this.child !== child) return;
    const uptime = Date.now() - this.startedAt;
    this.child = undefined;
    this.rpc?.rejectAllPendingRequests(`the node-host ${reason}`);
    this.rpc = undefined;
    if (!this.wanted) {
      logger.info(`node-host ${reason}`);
      this.setState({ kind: "stopped" });
      return;
    }
    logger.error(`node-host ${reason} after ${Math.round(uptime / 1000)} s`);
    const decision = this.backoff.onExit(uptime);
    if (!decision.restart) {
      this.wanted = false;
      this.setState({ kind: "failed", reason: `the node ${reason} (${decision.attempt - 1} restarts failed)` });
      return;
    }
    this.setState({ kind: "restarting", delayMs: decision.delayMs, attempt: decision.attempt, reason: `the node ${reason}` });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.wanted) return;
      this.startPromise = this.spawnOnce();
      this.startPromise.catch(() => undefined);
    }, decision.delayMs);
  }

  private emitNotification(method: string, params: unknown): void {
    for (const l of [...(this.notificationListeners.get(method) ?? [])]) {
      try {
        l(params);
      } catch (err) {
        this.options.logger.error(`${method} listener failed: ${errorText(err)}`);
      }
    }
  }
}

/** Calls `onLine` for each complete line of a stream (LF or CRLF). */
export function splitLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffer = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buffer += chunk;
    let i: number;
    while ((i = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, i).replace(/\r$/, "");
      buffer = buffer.slice(i + 1);
      if (line.trim()) onLine(line);
    }
    if (buffer.length > MAX_LINE) buffer = "";
  });
  stream.on("end", () => {
    if (buffer.trim()) onLine(buffer);
    buffer = "";
  });
}

/** Forwards one stderr line of the node to the log at a level guessed from its text. */
export function logNodeLine(logger: Logger, line: string): void {
  const m = /^\s*(?:\[[^\]]*\]\s*)?\[?(trace|debug|info|warn|warning|error|fatal)\]?[:\s]/i.exec(line);
  const level = m?.[1].toLowerCase();
  const text = `[node] ${line}`;
  if (level === "error" || level === "fatal") logger.error(text);
  else if (level === "warn" || level === "warning") logger.warn(text);
  else if (level === "debug") logger.debug(text);
  else if (level === "trace") logger.trace(text);
  else logger.info(text);
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === "object" && "message" in err) return String((err as { message: unknown }).message);
  return String(err);
}

function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
