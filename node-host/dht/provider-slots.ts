// The expiry times and signatures of the provider records a node holds, packed in two typed arrays
// and addressed by slot number. In a network smaller than k every node holds every record, so their
// cost is paid per file the team shares, on every node: an object per record with Buffers of its own
// and a copy of its sender's contact took about 1,500 bytes (measured: record-store.test.ts); a
// slot takes 72 bytes.

const SIGNATURE_BYTES = 64;
const FIRST_CAPACITY = 1024;

export class ProviderSlots {
  private expires = new Float64Array(0);
  private signatures = Buffer.alloc(0);
  /** Slots given back, taken again before the arrays grow. */
  private readonly freed: number[] = [];
  /** Slots ever handed out (the rest of the arrays has never been used). */
  private handedOut = 0;

  /** A slot holding `expires` and `signature`. */
  take(expires: number, signature: Uint8Array): number {
    const slot = this.freed.pop() ?? this.handedOut++;
    if (slot >= this.expires.length) this.grow();
    this.write(slot, expires, signature);
    return slot;
  }

  write(slot: number, expires: number, signature: Uint8Array): void {
    if (signature.length !== SIGNATURE_BYTES) throw new RangeError(`a signature is ${SIGNATURE_BYTES} bytes`);
    this.expires[slot] = expires;
    this.signatures.set(signature, slot * SIGNATURE_BYTES);
  }

  expiresAt(slot: number): number {
    return this.expires[slot];
  }

  /** A copy of the slot's signature (the slot may be reused once released). */
  signature(slot: number): Buffer {
    return Buffer.from(this.signatures.subarray(slot * SIGNATURE_BYTES, (slot + 1) * SIGNATURE_BYTES));
  }

  release(slot: number): void {
    this.freed.push(slot);
  }

  private grow(): void {
    const capacity = Math.max(FIRST_CAPACITY, this.expires.length * 2);
    const expires = new Float64Array(capacity);
    expires.set(this.expires);
    const signatures = Buffer.alloc(capacity * SIGNATURE_BYTES);
    this.signatures.copy(signatures);
    this.expires = expires;
    this.signatures = signatures;
  }
}
