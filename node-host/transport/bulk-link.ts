// A reliable, ordered byte pipe to one peer, as the bulk session sees it. tls-bulk.ts adapts a TLS
// socket and webrtc-bulk.ts a data channel. The base class serialises frame writes (a frame's parts
// are never interleaved with another frame's), counts bytes per path, buffers what arrives before the
// session starts reading, and reports the close exactly once.

import { BulkPath } from "./bulk";
import { BulkConnectionError, PathStats } from "./bulk-api";

export abstract class ByteLink {
  private tail: Promise<void> = Promise.resolve();
  private onData: ((piece: Buffer) => void) | null = null;
  private onClose: ((err?: Error) => void) | null = null;
  private early: Buffer[] = [];
  private closeError: Error | null = null;
  closed = false;
  /** True when a received piece's memory is reused once the data callback returns (it must be copied to be kept). */
  readonly reusesPieces: boolean = false;

  constructor(
    readonly path: BulkPath,
    protected readonly stats: PathStats,
  ) {
    stats.connectionsOpen++;
    stats.connectionsOpened++;
  }

  /** Starts delivering received bytes (including any that arrived earlier) and the close. */
  start(onData: (piece: Buffer) => void, onClose: (err?: Error) => void): void {
    this.onData = onData;
    this.onClose = onClose;
    const early = this.early;
    this.early = [];
    for (const piece of early) if (!this.closed) onData(piece);
    if (this.closed) onClose(this.closeError ?? undefined);
  }

  /**
   * Writes one frame after any earlier one; resolves once the transport accepts more (back-pressure).
   * Once it settles (either way), the transport no longer reads the parts' memory.
   */
  write(parts: Buffer[]): Promise<void> {
    const next = this.tail.then(() => {
      if (this.closed) throw new BulkConnectionError("connection closed");
      for (const p of parts) this.stats.bytesOut += p.length;
      return this.send(parts);
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Closes the transport; idempotent. */
  close(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = err ?? null;
    this.stats.connectionsOpen--;
    this.destroy(err);
    this.onClose?.(err);
  }

  /** For subclasses: bytes arrived. */
  protected received(piece: Buffer): void {
    if (this.closed) return;
    this.stats.bytesIn += piece.length;
    if (this.onData) this.onData(piece);
    else this.early.push(this.reusesPieces ? Buffer.from(piece) : piece);
  }

  /** Sends one frame's parts; resolves when more may be sent and the parts are no longer read. Rejects if the transport fails. */
  protected abstract send(parts: Buffer[]): Promise<void>;
  /** Releases the transport (called once, from close). */
  protected abstract destroy(err?: Error): void;
}
