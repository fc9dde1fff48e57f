// Copies of small byte strings that are kept for long (records held for the network, contacts).
// A small Buffer.from() or a slice of a decoded message is a view into an 8 KiB slab of Node's
// shared buffer pool, and a view kept alive keeps its whole slab alive: a node holding provider
// records decoded one at a time kept about 7 KiB per record that way (13.5 MiB for 2,000 records,
// measured in a heap snapshot), so its memory grew with every file the team shared.

/** Copies of `parts`, all in one allocation of their own (views of it, in order). */
export function ownCopies(...parts: Uint8Array[]): Buffer[] {
  const memory = Buffer.allocUnsafeSlow(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  return parts.map((p) => {
    memory.set(p, at);
    const view = memory.subarray(at, at + p.length);
    at += p.length;
    return view;
  });
}

/** A copy of `bytes` in memory of its own. */
export function ownCopy(bytes: Uint8Array): Buffer {
  return ownCopies(bytes)[0];
}
