// A node-datachannel data channel as a ByteLink: frames are cut into messages of at most 64 KiB
// (the channel's limit is 256 KiB; smaller messages keep the send buffer's steps fine-grained) and
// sends wait while more than HIGH_WATER bytes are buffered, until onBufferedAmountLow (with a short
// poll as a fallback, so a missed event cannot stall a transfer).
//
// Facts of node-datachannel this file lives by: an exception thrown inside one of its callbacks
// aborts the process, so every callback body is guarded; a callback's closure is held strongly by
// native code until the channel's close event, so closures reach the link only through a holder
// that is emptied on close (a closed link can then be collected).

import type { DataChannel, PeerConnection } from "node-datachannel";
import { BulkConnectionError, PathStats } from "./bulk-api";
import { ByteLink } from "./bulk-link";

export const MESSAGE_BYTES = 64 * 1024;
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
const POLL_MS = 50;

/** Wraps a node-datachannel callback so nothing it throws reaches native code. */
export function guard<A extends unknown[]>(log: ((msg: string) => void) | undefined, fn: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (err) {
      log?.(`webrtc callback failed: ${(err as Error).message}`);
    }
  };
}

export function messageBuffer(msg: string | Buffer | ArrayBuffer): Buffer {
  if (Buffer.isBuffer(msg)) return msg;
  return typeof msg === "string" ? Buffer.from(msg, "utf8") : Buffer.from(msg);
}

/** Cuts a frame's parts into messages of at most `max` bytes, copying only where a message joins parts. */
export function toMessages(parts: Buffer[], max: number): Buffer[] {
  const out: Buffer[] = [];
  let pending: Buffer[] = [];
  let size = 0;
  const flush = () => {
    out.push(pending.length === 1 ? pending[0] : Buffer.concat(pending, size));
    pending = [];
    size = 0;
  };
  for (const p of parts) {
    for (let off = 0; off < p.length; ) {
      const take = Math.min(max - size, p.length - off);
      pending.push(p.subarray(off, off + take));
      size += take;
      off += take;
      if (size === max) flush();
    }
  }
  if (size > 0) flush();
  return out;
}

export class DataChannelLink extends ByteLink {
  /** Resolves when the channel opens; rejects if the link closes first. */
  readonly opened: Promise<void>;
  private wake: (() => void) | null = null;
  private readonly holder: { link: DataChannelLink | null };
  private settleOpened!: { resolve: () => void; reject: (err: Error) => void };

  constructor(
    private readonly pc: PeerConnection,
    private readonly dc: DataChannel,
    stats: PathStats,
    private readonly log?: (msg: string) => void,
  ) {
    super("webrtc", stats);
    const holder = (this.holder = { link: this as DataChannelLink | null });
    this.opened = new Promise((resolve, reject) => (this.settleOpened = { resolve, reject }));
    this.opened.catch(() => undefined);
    dc.onOpen(guard(log, () => holder.link?.settleOpened.resolve()));
    if (dc.isOpen()) this.settleOpened.resolve();
    dc.setBufferedAmountLowThreshold(LOW_WATER);
    dc.onMessage(guard(log, (msg) => holder.link?.received(messageBuffer(msg))));
    dc.onBufferedAmountLow(guard(log, () => holder.link?.wakeWriter()));
    dc.onClosed(guard(log, () => holder.link?.close()));
    dc.onError(guard(log, (err) => holder.link?.close(new BulkConnectionError(`data channel error: ${err}`))));
    pc.onStateChange(
      guard(log, (state) => {
        if (state === "failed" || state === "closed" || state === "disconnected") holder.link?.close(new BulkConnectionError(`peer connection ${state}`));
      }),
    );
  }

  private wakeWriter(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  protected async send(parts: Buffer[]): Promise<void> {
    for (const msg of toMessages(parts, MESSAGE_BYTES)) {
      while (!this.closed && this.dc.bufferedAmount() > HIGH_WATER) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, POLL_MS);
        });
      }
      if (this.closed) throw new BulkConnectionError("connection closed while writing");
      this.dc.sendMessageBinary(msg); // false only means "queued", which bufferedAmount accounts for
    }
  }

  protected destroy(err?: Error): void {
    this.settleOpened.reject(err ?? new BulkConnectionError("connection closed"));
    this.holder.link = null;
    this.wakeWriter();
    closeQuietly(this.dc, this.pc, this.log);
  }
}

/** Closes a channel and its connection, swallowing errors from already-closed native objects. */
export function closeQuietly(dc: DataChannel | null, pc: PeerConnection, log?: (msg: string) => void): void {
  try {
    dc?.close();
  } catch (err) {
    log?.(`closing data channel: ${(err as Error).message}`);
  }
  try {
    pc.close();
  } catch (err) {
    log?.(`closing peer connection: ${(err as Error).message}`);
  }
}
