// Drives a socket agent (socket-agent-main.ts) running inside a lab host: plain UDP and TCP
// sockets in that host's namespace, for tests of what the network lets through.
//
//   const a = await SocketAgent.start(lab.host("alice"));
//   const { sock } = await a.udpBind();
//   await a.udpSend(sock, lab.host("stun").ipv4!, 4000, "hi");
//   const d = await stunAgent.nextDatagram(stunSock, 1000);   // { from, port, text } or null

import * as path from "node:path";
import * as readline from "node:readline";
import type { ChildProcess } from "node:child_process";
import type { StunAddress } from "../../node-host/nat/stun";
import type { LabHost } from "./netlab";

const MAIN = path.join(__dirname, "socket-agent-main.js");
/** What an agent keeps of arrivals nobody has waited for yet, per socket. */
const MAX_QUEUED = 1000;

export interface Arrival {
  from: string;
  port: number;
  text: string;
}

interface Waiter {
  match: (a: Arrival) => boolean;
  resolve: (a: Arrival | null) => void;
}

export class SocketAgent {
  private nextId = 1;
  private readonly replies = new Map<number, (r: Record<string, unknown>) => void>();
  private readonly queued = new Map<number, Arrival[]>();
  private readonly waiters = new Map<number, Waiter[]>();
  private stderr = "";

  private constructor(
    readonly host: LabHost,
    private readonly proc: ChildProcess,
  ) {
    proc.stderr!.on("data", (d) => (this.stderr = (this.stderr + d).slice(-4000)));
    readline.createInterface({ input: proc.stdout! }).on("line", (line) => this.onLine(line));
  }

  /** Starts an agent inside the host's namespace (the lab kills it on destroy). */
  static async start(host: LabHost): Promise<SocketAgent> {
    const proc = host.spawn(process.execPath, [MAIN], { stdio: ["pipe", "pipe", "pipe"] });
    const agent = new SocketAgent(host, proc);
    await agent.call("ping", {}); // answers once it runs
    return agent;
  }

  /** A UDP socket on all addresses of the family, on `port` (0: any). */
  udpBind(family: 4 | 6 = 4, port = 0): Promise<{ sock: number; port: number }> {
    return this.call("udpBind", { family, port }) as Promise<{ sock: number; port: number }>;
  }

  async udpSend(sock: number, host: string, port: number, text: string): Promise<void> {
    await this.call("udpSend", { sock, host, port, text });
  }

  /** A TCP server that greets every connection with `greeting` and closes it. */
  tcpListen(family: 4 | 6 = 4, greeting = "hello"): Promise<{ sock: number; port: number }> {
    return this.call("tcpListen", { family, greeting }) as Promise<{ sock: number; port: number }>;
  }

  /** Connects and reads the server's greeting. */
  tcpConnect(host: string, port: number, timeoutMs = 2000): Promise<{ connected: boolean; text?: string; error?: string }> {
    return this.call("tcpConnect", { host, port, timeoutMs }) as Promise<{ connected: boolean; text?: string; error?: string }>;
  }

  /** Asks a STUN server, from a UDP socket, for that socket's mapped address. */
  async stun(sock: number, host: string, port: number, timeoutMs = 3000): Promise<StunAddress> {
    return ((await this.call("stun", { sock, host, port, timeoutMs })) as { mapped: StunAddress }).mapped;
  }

  /** The next arrival on a socket (matching `match`), or null after timeoutMs. */
  nextArrival(sock: number, timeoutMs: number, match: (a: Arrival) => boolean = () => true): Promise<Arrival | null> {
    const queue = this.queued.get(sock) ?? [];
    const at = queue.findIndex(match);
    if (at >= 0) return Promise.resolve(queue.splice(at, 1)[0]);
    return new Promise((resolve) => {
      const waiter: Waiter = { match, resolve };
      const timer = setTimeout(() => {
        this.waiters.set(sock, (this.waiters.get(sock) ?? []).filter((w) => w !== waiter));
        resolve(null);
      }, timeoutMs);
      waiter.resolve = (a) => {
        clearTimeout(timer);
        resolve(a);
      };
      this.waiters.set(sock, [...(this.waiters.get(sock) ?? []), waiter]);
    });
  }

  /** Everything that arrived on a socket and nobody waited for; empties the queue. */
  drain(sock: number): Arrival[] {
    const queue = this.queued.get(sock) ?? [];
    this.queued.delete(sock);
    return queue;
  }

  stop(): void {
    this.proc.stdin?.end();
  }

  private call(op: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error(`agent in ${this.host.name} exited: ${this.stderr}`));
      this.proc.once("exit", onExit);
      this.replies.set(id, ({ id: _id, ...r }) => {
        this.proc.off("exit", onExit);
        if (typeof r.failed === "string") reject(new Error(`${op} in ${this.host.name}: ${r.failed}`));
        else resolve(r);
      });
      this.proc.stdin!.write(JSON.stringify({ id, op, ...args }) + "\n");
    });
  }

  private onLine(line: string): void {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof m.id === "number") {
      const reply = this.replies.get(m.id);
      this.replies.delete(m.id);
      reply?.(m);
      return;
    }
    const sock = Number(m.sock);
    const arrival: Arrival = { from: String(m.from), port: Number(m.port), text: String(m.text) };
    const waiters = this.waiters.get(sock) ?? [];
    const w = waiters.find((x) => x.match(arrival));
    if (w) {
      this.waiters.set(sock, waiters.filter((x) => x !== w));
      w.resolve(arrival);
      return;
    }
    const queue = this.queued.get(sock) ?? [];
    if (queue.length < MAX_QUEUED) queue.push(arrival);
    this.queued.set(sock, queue);
  }
}
