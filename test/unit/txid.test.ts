// Sender flags in transaction IDs: marked by this release, absent from the previous one's.

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { matchKey, replyTxid, requestTxid, SenderFlags, senderFlags } from "../../node-host/transport/txid";

test("a request txid carries its sender's flags, and each one is new", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const flags = i % 2 ? SenderFlags.client : 0;
    const txid = requestTxid(flags);
    assert.equal(txid.length, 8);
    assert.equal(senderFlags(txid, false), flags);
    seen.add(matchKey(txid));
  }
  assert.equal(seen.size, 2000, "the random part differs every time");
});

test("a reply is marked only by a client answering a marked request, and still matches it", () => {
  const request = requestTxid(0);
  const fromServer = replyTxid(request, 0);
  assert.deepEqual(fromServer, request, "a server echoes the txid");
  assert.equal(senderFlags(fromServer, true), 0);
  const fromClient = replyTxid(request, SenderFlags.client);
  assert.equal(senderFlags(fromClient, true), SenderFlags.client);
  assert.equal(matchKey(fromClient), matchKey(request), "the requester matches it all the same");
  const echoedByOld = Buffer.from(requestTxid(SenderFlags.client));
  assert.equal(senderFlags(echoedByOld, true), 0, "a previous-release node echoing a client's own mark says nothing about itself");
});

test("txids of the previous release carry no flags, and are echoed unchanged even by a client", () => {
  let flagged = 0;
  for (let i = 0; i < 4096; i++) {
    const old = randomBytes(8);
    if (senderFlags(old, false) & SenderFlags.client) flagged++;
    if (old[0] !== 0xa5) assert.deepEqual(replyTxid(old, SenderFlags.client), old);
  }
  assert.ok(flagged < 40, `${flagged} of 4096 random txids read as "client" (expected about 8)`);
});
