// An in-process Signaller for tests and benchmarks: delivers WebRTC signalling between bulk nodes of
// one process as the DHT would (the sender's identity is taken as authenticated), and holds every
// payload to the DHT's 1000-byte limit so nothing passes here that could not pass over UDP.

import { Id, toHex } from "../dht/id";
import { BulkPeer } from "./bulk";
import { Signaller } from "./webrtc-bulk";

type Handler = (from: BulkPeer, payload: Buffer) => Promise<Buffer | null>;

export class MemorySignalHub {
  /** Largest payload seen in either direction. */
  largestPayload = 0;
  private readonly handlers = new Map<string, Handler>();
  private readonly redirects = new Map<string, string>();

  constructor(readonly maxPayloadBytes = 1000) {}

  /** The Signaller of the node `self`. */
  signallerFor(self: BulkPeer): Signaller {
    return {
      signal: async (peer, payload) => {
        this.check(payload);
        const key = toHex(peer.id);
        const handler = this.handlers.get(this.redirects.get(key) ?? key);
        if (!handler) throw new Error(`no node ${key.slice(0, 12)}… on this hub`);
        const reply = await handler(self, payload);
        if (!reply) throw new Error("signalling not accepted");
        this.check(reply);
        return reply;
      },
      onSignal: (handler) => this.handlers.set(toHex(self.id), handler),
    };
  }

  /** Delivers signalling addressed to `from` to the node `to` instead (a misdirected or spoofed route). */
  redirect(from: Id, to: Id): void {
    this.redirects.set(toHex(from), toHex(to));
  }

  private check(payload: Buffer): void {
    if (payload.length > this.maxPayloadBytes) throw new Error(`signalling payload of ${payload.length} bytes exceeds ${this.maxPayloadBytes}`);
    this.largestPayload = Math.max(this.largestPayload, payload.length);
  }
}
