// Objects by id from whichever holders are up, for a fetch that wants many objects of one content in
// no fixed order (a folder's file manifests and chunks): get(id) goes to the live holder with the
// fewest requests under way (at most `window` each, so every holder's pipe stays full and a slow one
// takes fewer), checks the bytes against the id, and on a failure asks the next holder: one that
// lacks the object is not asked for it again, one that fails or sends bad bytes is dropped. When no
// live holder is left the holders are looked up again, a bounded number of times.

import { isIdOf } from "../cas";
import { CasError } from "../cas";
import { BulkClient, ObjectNotFoundError } from "../transport/bulk";
import { FetchError, Holders, type HolderState } from "./holders";

export interface ObjectSourceOptions {
  bulk: BulkClient;
  /** The holders to ask (looked up on first use). */
  holders: Holders;
  /** Requests in flight per holder. */
  window?: number;
  signal?: AbortSignal;
}

const hex = (b: Buffer) => b.toString("hex");

export class ObjectSource {
  readonly holders: Holders;
  private readonly window: number;
  /** Requests waiting for a holder with room; woken as requests end. */
  private readonly waiting: (() => void)[] = [];
  /** Holders that sent at least one object. */
  private readonly used = new Set<string>();
  /** A second lookup of holders under way: concurrent get()s that found none share it. */
  private lookingAgain: Promise<boolean> | null = null;
  bytesFetched = 0;

  constructor(private readonly o: ObjectSourceOptions) {
    this.holders = o.holders;
    this.window = o.window ?? 4;
  }

  get holdersUsed(): number {
    return this.used.size;
  }

  /** The holders that sent at least one object (node IDs, hex). */
  get usedHolderIds(): string[] {
    return [...this.used];
  }

  /** The holders still asked (node IDs, hex). */
  liveHolderIds(): string[] {
    return this.holders.live().map((h) => hex(h.peer.id));
  }

  /** The object's bytes, checked against `id`. Hand them back with release() once used. */
  async get(id: Buffer, what = `object ${hex(id).slice(0, 12)}…`): Promise<Buffer> {
    await this.holders.found();
    for (;;) {
      if (this.o.signal?.aborted) throw new FetchError("fetch cancelled");
      const able = this.holders.live().filter((h) => !h.lacks.has(hex(id)));
      if (able.length === 0) {
        if (await this.lookAgain()) continue;
        const bad = this.holders.bad.length;
        throw this.holders.failure(`${what} could not be fetched: no live holder has it${bad ? ` (${bad} holder(s) sent corrupt data)` : ""}`);
      }
      const free = able.filter((h) => h.inFlight < this.window).sort((a, b) => a.inFlight - b.inFlight)[0];
      if (!free) {
        await new Promise<void>((resolve) => this.waiting.push(resolve));
        continue;
      }
      const bytes = await this.ask(free, id);
      if (bytes) return bytes;
    }
  }

  /** Looks up holders again (once for all the requests that found none); true when new ones turned up. */
  private lookAgain(): Promise<boolean> {
    return (this.lookingAgain ??= this.holders.refreshAgain().finally(() => (this.lookingAgain = null)));
  }

  /** Gives back bytes get() returned (pooled receive buffers). */
  release(bytes: Buffer): void {
    this.o.bulk.release?.(bytes);
  }

  /** One request to one holder: the verified bytes, or null (the holder lacks them, failed or lied). */
  private async ask(h: HolderState, id: Buffer): Promise<Buffer | null> {
    h.inFlight++;
    try {
      const bytes = await this.o.bulk.getObject(h.peer, id, this.o.signal);
      if (!isIdOf(id, bytes)) {
        this.release(bytes);
        this.holders.drop(h, new CasError("EHASHMISMATCH", `bytes do not hash to ${hex(id)}`));
        return null;
      }
      this.used.add(hex(h.peer.id));
      this.bytesFetched += bytes.length;
      return bytes;
    } catch (err) {
      if (this.o.signal?.aborted) throw new FetchError("fetch cancelled");
      if (err instanceof ObjectNotFoundError) h.lacks.add(hex(id));
      else this.holders.drop(h, err);
      return null;
    } finally {
      h.inFlight--;
      this.waiting.shift()?.();
    }
  }
}
