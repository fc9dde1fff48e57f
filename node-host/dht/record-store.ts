// Records this node holds for the network: values and provider records, bounded in number,
// dropped when they expire. Only records that passed validation are put here.

import { ProviderRecord, ValueRecord } from "./messages";
import { Id } from "./id";
import { ownCopies } from "../util/own-bytes";

export interface StoreLimits {
  maxValues: number;
  maxProviderKeys: number;
  maxProvidersPerKey: number;
  /** Provider records one provider may have here (so one node cannot fill the store alone). */
  maxPerProvider: number;
  /** Provider records in all. */
  maxProviderRecords: number;
}

// maxPerProvider was 5,000: on a team network smaller than k every node is among the closest to
// every key, so a node holding 10,000 contents had half of them announced nowhere (seen in the soak)
const DEFAULT_LIMITS: StoreLimits = { maxValues: 10_000, maxProviderKeys: 50_000, maxProvidersPerKey: 64, maxPerProvider: 20_000, maxProviderRecords: 200_000 };

export interface HeldValue {
  key: Id;
  record: ValueRecord;
  receivedAt: number;
}

export type PutOutcome = "stored" | "kept-newer" | "full";

export class RecordStore {
  private readonly values = new Map<string, HeldValue>();
  private readonly providers = new Map<string, Map<string, ProviderRecord>>();
  /** Provider (hex) → how many of its records are held; and their total. */
  private readonly perProvider = new Map<string, number>();
  private providerRecords = 0;

  constructor(
    private readonly limits: StoreLimits = DEFAULT_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  putValue(key: Id, record: ValueRecord): PutOutcome {
    const k = key.toString("hex");
    const existing = this.values.get(k);
    if (existing && (existing.record.seq > record.seq || (existing.record.seq === record.seq && existing.record.expires >= record.expires))) {
      return "kept-newer";
    }
    if (!existing && this.values.size >= this.limits.maxValues) return "full";
    const [ownKey, publisher, value, signature] = ownCopies(key, record.publisher, record.value, record.signature);
    this.values.set(k, { key: ownKey, record: { ...record, publisher, value, signature }, receivedAt: this.now() });
    return "stored";
  }

  getValue(key: Id): ValueRecord | undefined {
    const held = this.values.get(key.toString("hex"));
    if (!held) return undefined;
    if (held.record.expires <= this.now()) {
      this.values.delete(key.toString("hex"));
      return undefined;
    }
    return held.record;
  }

  addProvider(record: ProviderRecord): PutOutcome {
    const k = record.key.toString("hex");
    let set = this.providers.get(k);
    if (!set) {
      if (this.providers.size >= this.limits.maxProviderKeys) return "full";
      set = new Map();
      this.providers.set(k, set);
    }
    const pk = record.provider.id.toString("hex");
    if (!set.has(pk)) {
      const mine = this.perProvider.get(pk) ?? 0;
      if (set.size >= this.limits.maxProvidersPerKey || mine >= this.limits.maxPerProvider || this.providerRecords >= this.limits.maxProviderRecords) {
        if (set.size === 0) this.providers.delete(k);
        return "full";
      }
      this.perProvider.set(pk, mine + 1);
      this.providerRecords++;
    }
    const [key, signature] = ownCopies(record.key, record.signature);
    set.set(pk, { key, provider: record.provider, expires: record.expires, signature });
    return "stored";
  }

  getProviders(key: Id): ProviderRecord[] {
    const set = this.providers.get(key.toString("hex"));
    if (!set) return [];
    const now = this.now();
    return [...set.values()].filter((p) => p.expires > now);
  }

  /** Resets a held value's age, after it was re-replicated. */
  markReceived(key: Id): void {
    const held = this.values.get(key.toString("hex"));
    if (held) held.receivedAt = this.now();
  }

  heldValues(): HeldValue[] {
    return [...this.values.values()];
  }

  /** Every provider record held (expired ones included until expire() drops them). */
  *heldProviders(): Iterable<ProviderRecord> {
    for (const set of this.providers.values()) yield* set.values();
  }

  get valueCount(): number {
    return this.values.size;
  }

  get providerCount(): number {
    return this.providerRecords;
  }

  private dropProvider(set: Map<string, ProviderRecord>, pk: string): void {
    set.delete(pk);
    this.providerRecords--;
    const left = (this.perProvider.get(pk) ?? 1) - 1;
    if (left > 0) this.perProvider.set(pk, left);
    else this.perProvider.delete(pk);
  }

  /** Drops everything that has expired. */
  expire(): void {
    const now = this.now();
    for (const [k, v] of this.values) if (v.record.expires <= now) this.values.delete(k);
    for (const [k, set] of this.providers) {
      for (const [pk, p] of set) if (p.expires <= now) this.dropProvider(set, pk);
      if (set.size === 0) this.providers.delete(k);
    }
  }
}
