// The datagrams a node took lately, by transaction ID, so that a replayed copy is dropped. Its
// memory is fixed when it is made (1.5 MiB at most, resident as it is first used): a ring of (txid,
// time) in arrival order, whose oldest entries lapse first, and an open-addressing index into the
// ring. A Map of txids grew with the traffic of the last minute (about 80 bytes a datagram: 3 MiB
// on a node taking 650 a second), so a node's memory followed how busy its network was.

const TXID_BYTES = 8;
/** An index slot holds a ring position + 1, so that a fresh (zeroed, untouched) index is empty. */
const EMPTY = 0;
const NOT_FOUND = -1;

export class ReplayWindow {
  /** Ring of remembered datagrams, oldest at `head`. */
  private readonly txHigh: Uint32Array;
  private readonly txLow: Uint32Array;
  private readonly takenAt: Float64Array;
  private head = 0;
  private count = 0;
  /** Index: slot → ring position + 1, EMPTY where none; linear probing, at most half full. */
  private readonly index: Int32Array;
  private readonly mask: number;
  /** Secret per process, so that no sender can choose txids that pile up in one run of the index. */
  private readonly seed = (Math.random() * 0x100000000) >>> 0;

  constructor(
    private readonly capacity: number,
    /** How long a datagram is remembered, ms. */
    readonly keepMs: number,
  ) {
    if (capacity < 1) throw new RangeError("capacity must be at least 1");
    this.txHigh = new Uint32Array(capacity);
    this.txLow = new Uint32Array(capacity);
    this.takenAt = new Float64Array(capacity);
    let slots = 2;
    while (slots < 2 * capacity) slots *= 2;
    this.index = new Int32Array(slots);
    this.mask = slots - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Whether `txid` was taken and has not lapsed by `now`. */
  has(txid: Uint8Array, now: number): boolean {
    const at = this.find(high(txid), low(txid));
    return at !== NOT_FOUND && now - this.takenAt[at] <= this.keepMs;
  }

  /** Remembers `txid` as of `now`, forgetting what has lapsed (and the oldest, past the capacity). */
  add(txid: Uint8Array, now: number): void {
    this.forgetLapsed(now);
    const hi = high(txid);
    const lo = low(txid);
    const known = this.find(hi, lo);
    if (known !== NOT_FOUND) this.unindex(known); // stays in the ring until it lapses, found no more
    if (this.count === this.capacity) this.dropOldest();
    const at = (this.head + this.count) % this.capacity;
    this.txHigh[at] = hi;
    this.txLow[at] = lo;
    this.takenAt[at] = now;
    this.count++;
    let slot = this.slotOf(hi, lo);
    while (this.index[slot] !== EMPTY) slot = (slot + 1) & this.mask;
    this.index[slot] = at + 1;
  }

  /**
   * Drops entries from the oldest on while they have lapsed. A clock that stepped back leaves a
   * newer entry in front of older ones; they then stay until it lapses, which errs on the side of
   * remembering.
   */
  private forgetLapsed(now: number): void {
    while (this.count > 0 && now - this.takenAt[this.head] > this.keepMs) this.dropOldest();
  }

  private dropOldest(): void {
    const at = this.head;
    if (this.find(this.txHigh[at], this.txLow[at]) === at) this.unindex(at);
    this.head = (this.head + 1) % this.capacity;
    this.count--;
  }

  /** The ring position holding (hi, lo), or NOT_FOUND. */
  private find(hi: number, lo: number): number {
    for (let slot = this.slotOf(hi, lo); ; slot = (slot + 1) & this.mask) {
      if (this.index[slot] === EMPTY) return NOT_FOUND;
      const at = this.index[slot] - 1;
      if (this.txHigh[at] === hi && this.txLow[at] === lo) return at;
    }
  }

  /** Removes ring position `at` from the index, shifting back the entries probed past it. */
  private unindex(at: number): void {
    let hole = this.slotOf(this.txHigh[at], this.txLow[at]);
    while (this.index[hole] !== at + 1) hole = (hole + 1) & this.mask;
    for (let slot = (hole + 1) & this.mask; this.index[slot] !== EMPTY; slot = (slot + 1) & this.mask) {
      const moved = this.index[slot];
      const home = this.slotOf(this.txHigh[moved - 1], this.txLow[moved - 1]);
      // the entry at `slot` may fill the hole when its home is not within (hole, slot]
      if (((slot - home) & this.mask) >= ((slot - hole) & this.mask)) {
        this.index[hole] = moved;
        hole = slot;
      }
    }
    this.index[hole] = EMPTY;
  }

  private slotOf(hi: number, lo: number): number {
    let h = Math.imul(lo ^ this.seed, 0x9e3779b1) ^ Math.imul(hi + this.seed, 0x85ebca77);
    h ^= h >>> 15;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 13;
    return h & this.mask;
  }
}

function high(txid: Uint8Array): number {
  if (txid.length !== TXID_BYTES) throw new RangeError(`a transaction ID is ${TXID_BYTES} bytes`);
  return ((txid[0] << 24) | (txid[1] << 16) | (txid[2] << 8) | txid[3]) >>> 0;
}

function low(txid: Uint8Array): number {
  return ((txid[4] << 24) | (txid[5] << 16) | (txid[6] << 8) | txid[7]) >>> 0;
}
