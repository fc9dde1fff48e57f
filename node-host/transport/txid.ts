// Transaction IDs (8 bytes in every envelope), and the sender flags they carry.
//
// The envelope has no field an older node would ignore, except the txid, which it only echoes in
// its reply. So this release carries its sender flags there:
//
//   request:  0xA5 | flags | 6 random bytes
//   reply:    0x5A | flags | the request's last 6 bytes   (only a client marks a reply, see below)
//
// Flag bit 0 says "the sender is a DHT client" (not reachable: keep it out of routing tables and
// answers). A requester matches replies by the last 6 bytes, so a reply whose first two bytes
// were rewritten still matches. Nodes of the previous release send 8 random bytes and echo a
// request's txid unchanged. Hence:
// - a reply is marked only by a client, and only to a request that carried the mark (a requester
//   of the previous release expects its txid back unchanged);
// - an unmarked txid, or an echoed request mark, means "no flags";
// - a previous-release request starts with 0xA5 by chance once in 256, and then reads as "client"
//   once in 512: its sender is kept out of the table for that one request, and enters it with its
//   next one. Previous-release nodes ignore the flags: they keep clients in their tables.

import { randomBytes } from "node:crypto";

export const TXID_BYTES = 8;
const REQUEST_MARK = 0xa5;
const REPLY_MARK = 0x5a;

export const SenderFlags = { client: 0x01 } as const;

// randomBytes() per request costs ~9 µs; slicing a pooled buffer costs nothing.
let pool = Buffer.alloc(0);
let offset = 0;

/** A new request txid carrying `flags`. */
export function requestTxid(flags: number): Buffer {
  if (offset + TXID_BYTES > pool.length) {
    pool = randomBytes(TXID_BYTES * 512);
    offset = 0;
  }
  const txid = pool.subarray(offset, offset + TXID_BYTES);
  offset += TXID_BYTES;
  txid[0] = REQUEST_MARK;
  txid[1] = flags;
  return txid;
}

/** The txid of the reply to a request with `requestTxid`, from a node with `flags`. */
export function replyTxid(requestTxid: Buffer, flags: number): Buffer {
  const txid = Buffer.from(requestTxid);
  if (flags !== 0 && requestTxid[0] === REQUEST_MARK) {
    txid[0] = REPLY_MARK;
    txid[1] = flags;
  }
  return txid;
}

/** The sender flags a datagram's txid carries (0 from a node of the previous release). */
export function senderFlags(txid: Buffer, isReply: boolean): number {
  return txid[0] === (isReply ? REPLY_MARK : REQUEST_MARK) ? txid[1] : 0;
}

/** What a reply is matched to its request by: the txid's last 6 bytes. */
export function matchKey(txid: Buffer): string {
  return txid.toString("latin1", 2, TXID_BYTES);
}
