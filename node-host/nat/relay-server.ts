// Relaying bulk connections between two nodes that cannot connect to each other (both behind
// address-and-port-dependent NATs, or one whose network blocks UDP): both open a TCP connection to
// this node, the requester naming the target and a token, the target presenting the same token;
// this node then passes bytes between them. The ends run TLS over it, so the relay sees ciphertext
// only, and it cannot pose as either end (their HELLO signatures are bound to that TLS session).
//
// Limits, as a relay is someone else's bandwidth: whom it serves (a node in teams relays only for
// members of its teams unless its `relay` setting says anyone; `off` relays for nobody), circuits
// at once (in all and per requester), bytes per second (per circuit and in all), a circuit's
// lifetime, and how long the requester's half waits for the target.

import * as net from "node:net";
import { Transform, TransformCallback, pipeline } from "node:stream";
import { Id, nodeIdFromPublicKey, toHex } from "../dht/id";
import { SignatureVerifier } from "../security/identity";
import { ByteRateLimiter } from "../util/byte-rate-limiter";
import { AcceptHeader, ConnectHeader, decodeRelayHeader, MAX_RELAY_HEADER_BYTES, RelayHeader, relayHeaderLength, RelayStatus, signedPart } from "./relay-wire";

export type RelayMode = "members" | "anyone" | "off";

export interface RelaySettings {
  mode: () => RelayMode;
  /** Bytes per second one circuit may carry each way (0: no cap). */
  circuitBytesPerSecond: () => number;
  /** Bytes per second all circuits together may carry (0: no cap). */
  totalBytesPerSecond: () => number;
  circuitLifetimeMs: () => number;
}

export interface RelayOptions {
  /** This node's ID: headers are signed for it. */
  self: Id;
  settings: RelaySettings;
  /** Whether the requester (with the memberships it showed) is a member of one of this node's teams; a node in no team answers true. */
  isMember: (requester: Id, publicKey: Buffer, memberships: Buffer[]) => boolean;
  /** This node's clock corrected to its peers' (transport/clock-offset.ts), which headers' timestamps are checked against. */
  now?: () => number;
  log?: (line: string) => void;
}

export interface RelayStats {
  circuits: number;
  circuitsOpened: number;
  refused: number;
  bytesRelayed: number;
}

const MAX_CIRCUITS = 64;
const MAX_CIRCUITS_PER_REQUESTER = 4;
/** How long a requester's connection waits for its target to arrive. */
const TARGET_WAIT_MS = 10_000;
/** A header's timestamp may be this far from the relay's clock. */
const FRESHNESS_MS = 5 * 60_000;
/** How long a connection may take to send its whole header. */
const HEADER_MS = 5000;

interface Waiting {
  socket: net.Socket;
  requester: string;
  target: Buffer;
  timer: NodeJS.Timeout;
}

export class RelayServer {
  readonly stats: RelayStats = { circuits: 0, circuitsOpened: 0, refused: 0, bytesRelayed: 0 };
  private readonly waiting = new Map<string, Waiting>();
  private readonly perRequester = new Map<string, number>();
  private readonly total: ByteRateLimiter;
  private readonly verifier = new SignatureVerifier(1024);
  private readonly open = new Set<net.Socket>();

  constructor(private readonly o: RelayOptions) {
    this.total = new ByteRateLimiter(o.settings.totalBytesPerSecond());
  }

  /**
   * A TCP connection to this node's bulk port that did not start with TLS: taken (true) when its
   * first bytes begin a relay header, which is then read in full (bounded in size and time).
   */
  accept(socket: net.Socket, first: Buffer): boolean {
    if (first.length >= 4 && !first.subarray(0, 4).equals(Buffer.from("PSR1"))) return false;
    socket.on("error", () => socket.destroy());
    const timer = setTimeout(() => socket.destroy(), HEADER_MS);
    let got = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      const length = relayHeaderLength(got);
      if ((got.length >= 7 && length === null) || got.length > MAX_RELAY_HEADER_BYTES) return void socket.destroy();
      if (length === null || got.length < length) return;
      clearTimeout(timer);
      socket.off("data", onData);
      socket.pause();
      let header: RelayHeader;
      try {
        header = decodeRelayHeader(got.subarray(0, length));
      } catch {
        return void socket.destroy();
      }
      if (got.length > length) socket.unshift(got.subarray(length));
      this.handle(socket, header);
    };
    socket.on("data", onData);
    return true;
  }

  private handle(socket: net.Socket, header: RelayHeader): void {
    socket.on("error", () => socket.destroy());
    const why = this.check(header);
    if (why) return this.refuse(socket, why === "busy" ? RelayStatus.busy : RelayStatus.refused, why);
    if (header.kind === "connect") this.park(socket, header);
    else this.join(socket, header);
  }

  private check(h: RelayHeader): string | null {
    if (this.o.settings.mode() === "off") return "relaying is off on this node";
    if (Math.abs((this.o.now ?? Date.now)() - h.timestamp) > FRESHNESS_MS) return "stale header";
    if (!this.verifier.verify(h.publicKey, signedPart(this.o.self, h), h.signature)) return "bad signature";
    if (h.kind === "accept") return null;
    const requester = nodeIdFromPublicKey(h.publicKey);
    if (this.o.settings.mode() === "members" && !this.o.isMember(requester, h.publicKey, h.memberships)) return "not a member of this node's teams";
    if (this.stats.circuits + this.waiting.size >= MAX_CIRCUITS || (this.perRequester.get(toHex(requester)) ?? 0) >= MAX_CIRCUITS_PER_REQUESTER) return "busy";
    if (this.waiting.has(h.token.toString("hex"))) return "token in use";
    return null;
  }

  private refuse(socket: net.Socket, status: number, why: string): void {
    this.stats.refused++;
    this.o.log?.(`relay: refused ${socket.remoteAddress}: ${why}`);
    socket.end(Buffer.from([status]));
  }

  /** The requester's half waits for the target to present the same token. */
  private park(socket: net.Socket, h: ConnectHeader): void {
    const key = h.token.toString("hex");
    const requester = toHex(nodeIdFromPublicKey(h.publicKey));
    const timer = setTimeout(() => {
      this.waiting.delete(key);
      this.release(requester);
      socket.end(Buffer.from([RelayStatus.noPeer]));
    }, TARGET_WAIT_MS);
    timer.unref();
    this.waiting.set(key, { socket, requester, target: h.target, timer });
    this.perRequester.set(requester, (this.perRequester.get(requester) ?? 0) + 1);
    socket.once("close", () => {
      if (this.waiting.get(key)?.socket !== socket) return;
      clearTimeout(timer);
      this.waiting.delete(key);
      this.release(requester);
    });
  }

  private join(socket: net.Socket, h: AcceptHeader): void {
    const key = h.token.toString("hex");
    const w = this.waiting.get(key);
    if (!w || !nodeIdFromPublicKey(h.publicKey).equals(w.target)) return this.refuse(socket, RelayStatus.noPeer, "no circuit waits for this token and node");
    clearTimeout(w.timer);
    this.waiting.delete(key);
    this.splice(w.socket, socket, w.requester);
  }

  private splice(a: net.Socket, b: net.Socket, requester: string): void {
    this.stats.circuits++;
    this.stats.circuitsOpened++;
    for (const s of [a, b]) {
      s.setNoDelay(true);
      this.open.add(s);
      s.write(Buffer.from([RelayStatus.ok]));
    }
    const end = () => {
      clearTimeout(lifetime);
      a.destroy();
      b.destroy();
    };
    const lifetime = setTimeout(end, this.o.settings.circuitLifetimeMs());
    lifetime.unref();
    let done = 0;
    const finished = () => {
      if (++done < 2) return;
      this.stats.circuits--;
      this.release(requester);
      this.open.delete(a);
      this.open.delete(b);
      end();
    };
    const circuit = new ByteRateLimiter(this.o.settings.circuitBytesPerSecond());
    pipeline(a, this.meter(circuit), b, finished);
    pipeline(b, this.meter(circuit), a, finished);
  }

  /** Counts the bytes and holds them back to the circuit's and the relay's caps. */
  private meter(circuit: ByteRateLimiter): Transform {
    this.total.bytesPerSecond = this.o.settings.totalBytesPerSecond();
    return new Transform({
      transform: (chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) => {
        this.stats.bytesRelayed += chunk.length;
        Promise.all([circuit.take(chunk.length), this.total.take(chunk.length)]).then(() => done(null, chunk), done);
      },
    });
  }

  private release(requester: string): void {
    const n = (this.perRequester.get(requester) ?? 1) - 1;
    if (n > 0) this.perRequester.set(requester, n);
    else this.perRequester.delete(requester);
  }

  close(): void {
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.socket.destroy();
    }
    this.waiting.clear();
    for (const s of this.open) s.destroy();
  }
}
