// Records this node holds for the network: values and provider records, bounded in number,
// dropped when they expire. Only records that passed validation are put here. Provider records are
// held compactly (one per file and holder, on every node of a small network): a slot for expiry and
// signature (provider-slots.ts) under the content key and the provider, whose contact is kept once
// for all its records.

import { Contact, ProviderRecord, ValueRecord } from "./messages";
import { Id } from "./id";
import { ownCopies } from "../util/own-bytes";
import { ProviderSlots } from "./provider-slots";

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

/** A provider with records here: its contact (the newest address it announced from) and their count. */
interface HeldProvider {
  /** Its ID in hex: the one copy of the string that keys its records. */
  pk: string;
  contact: Contact;
  records: number;
}

export class RecordStore {
  private readonly values = new Map<string, HeldValue>();
  /** Content key (hex) → provider ID (hex) → the slot of its record. */
  private readonly providers = new Map<string, Map<string, number>>();
  private readonly slots = new ProviderSlots();
  /** Provider ID (hex) → its contact and how many of its records are held; and their total. */
  private readonly heldFrom = new Map<string, HeldProvider>();
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
    const slot = set.get(pk);
    if (slot !== undefined) {
      this.slots.write(slot, record.expires, record.signature);
      this.providerContact(pk, record.provider);
      return "stored";
    }
    const mine = this.heldFrom.get(pk)?.records ?? 0;
    if (set.size >= this.limits.maxProvidersPerKey || mine >= this.limits.maxPerProvider || this.providerRecords >= this.limits.maxProviderRecords) {
      if (set.size === 0) this.providers.delete(k);
      return "full";
    }
    const held = this.providerContact(pk, record.provider);
    held.records++;
    this.providerRecords++;
    set.set(held.pk, this.slots.take(record.expires, record.signature));
    return "stored";
  }

  getProviders(key: Id): ProviderRecord[] {
    const set = this.providers.get(key.toString("hex"));
    if (!set) return [];
    const now = this.now();
    const out: ProviderRecord[] = [];
    for (const [pk, slot] of set) if (this.slots.expiresAt(slot) > now) out.push(this.recordAt(key, pk, slot));
    return out;
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
    for (const [k, set] of this.providers) {
      const key = Buffer.from(k, "hex");
      for (const [pk, slot] of set) yield this.recordAt(key, pk, slot);
    }
  }

  get valueCount(): number {
    return this.values.size;
  }

  get providerCount(): number {
    return this.providerRecords;
  }

  private recordAt(key: Id, pk: string, slot: number): ProviderRecord {
    return { key, provider: this.heldFrom.get(pk)!.contact, expires: this.slots.expiresAt(slot), signature: this.slots.signature(slot) };
  }

  /** The provider's entry, its contact replaced when it announced from elsewhere. */
  private providerContact(pk: string, contact: Contact): HeldProvider {
    const held = this.heldFrom.get(pk);
    if (held && sameContact(held.contact, contact)) return held;
    const [id, publicKey] = ownCopies(contact.id, contact.publicKey);
    const own: Contact = { id, publicKey, host: contact.host, port: contact.port, ...(contact.via ? { via: contact.via } : {}) };
    if (held) {
      held.contact = own;
      return held;
    }
    const added = { pk, contact: own, records: 0 };
    this.heldFrom.set(pk, added);
    return added;
  }

  private dropProvider(set: Map<string, number>, pk: string, slot: number): void {
    set.delete(pk);
    this.slots.release(slot);
    this.providerRecords--;
    const held = this.heldFrom.get(pk)!;
    if (--held.records === 0) this.heldFrom.delete(pk);
  }

  /** Drops everything that has expired. */
  expire(): void {
    const now = this.now();
    for (const [k, v] of this.values) if (v.record.expires <= now) this.values.delete(k);
    for (const [k, set] of this.providers) {
      for (const [pk, slot] of set) if (this.slots.expiresAt(slot) <= now) this.dropProvider(set, pk, slot);
      if (set.size === 0) this.providers.delete(k);
    }
  }
}

/** Same address and the same rendezvous nodes (a contact decoded afresh from each datagram). */
function sameContact(a: Contact, b: Contact): boolean {
  if (a.host !== b.host || a.port !== b.port || (a.via?.length ?? 0) !== (b.via?.length ?? 0)) return false;
  return (a.via ?? []).every((v, i) => v.id.equals(b.via![i].id) && v.host === b.via![i].host && v.port === b.via![i].port);
}
