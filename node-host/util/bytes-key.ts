// Buffers as Map keys: their bytes as a latin1 string, remembered per buffer object. A node ID or
// the public key of an interned contact is the same object again and again (transport/
// contact-codec.ts), so its string is made once instead of at every lookup of every cache (a
// hot path: a lookup's replies name hundreds of contacts). Only for buffers never written to
// after they are made, and that live on (for a datagram's transient views, toString directly).

const keys = new WeakMap<Buffer, string>();

export function bytesKey(b: Buffer): string {
  let key = keys.get(b);
  if (key === undefined) {
    key = b.toString("latin1");
    keys.set(b, key);
  }
  return key;
}
