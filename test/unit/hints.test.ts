// Address hints in share links and invites (first-contact/hints.ts): their binary form, the links
// and invites that carry them, what a node of the release before them makes of those, how long a
// link gets, and a sentence for every kind of damage.

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { decodeHints, encodeHints, HintError, Hints, MAX_HINT_ENTRIES } from "../../node-host/first-contact/hints";
import { formatShareLink, parseShareLink, withoutHints } from "../../node-host/cas/share-link";
import { CasError } from "../../node-host/cas/errors";
import { Identity } from "../../node-host/security/identity";
import { createInvitation, formatInvite, inviteHints, parseInvite, TeamCertError } from "../../node-host/security/team-cert";

const node = Identity.generate();
const prefix = () => randomBytes(8);
const publicSharer = { node: node.publicKey, direct: [{ host: "203.0.113.10", port: 7420 }], rendezvous: [] };
const natSharer = {
  node: node.publicKey,
  direct: [{ host: "192.168.1.10", port: 7420 }],
  rendezvous: [
    { idPrefix: prefix(), host: "203.0.113.10", port: 7420 },
    { idPrefix: prefix(), host: "198.51.100.7", port: 443 },
  ],
};

const badLink = (text: string, pattern: RegExp) =>
  assert.throws(() => parseShareLink(text), (err: unknown) => err instanceof CasError && err.code === "EBADLINK" && pattern.test(err.message), text);

test("hints round-trip: the node's key, direct addresses (IPv4, IPv6) and rendezvous nodes by ID prefix", () => {
  const hints = { ...natSharer, direct: [...natSharer.direct, { host: "2001:db8:1::10", port: 7420 }] };
  const decoded = decodeHints(encodeHints(hints));
  assert.deepEqual(decoded, { ...hints, unknown: 0 });
  // more entries than a link carries are cut, direct ones kept first
  const many = { node: node.publicKey, direct: Array.from({ length: 4 }, (_, i) => ({ host: `203.0.113.${i + 1}`, port: 7420 })), rendezvous: natSharer.rendezvous.concat(natSharer.rendezvous) };
  const cut = decodeHints(encodeHints(many));
  assert.equal(cut.direct.length + cut.rendezvous.length, MAX_HINT_ENTRIES);
  assert.equal(cut.direct.length, 4);
});

test("a link with hints: parsed with its key, and without them it is the link of before", (t) => {
  const id = "ab".repeat(32);
  const key = randomBytes(32);
  const plain = formatShareLink(id, key);
  for (const [what, hints] of [["public sharer", publicSharer], ["sharer behind NAT", natSharer]] as const) {
    const link = formatShareLink(id, key, encodeHints(hints));
    const parsed = parseShareLink(link);
    assert.equal(parsed.contentId, id);
    assert.deepEqual(parsed.key, key);
    assert.deepEqual(parsed.hints, { ...hints, unknown: 0 });
    assert.equal(withoutHints(parsed), plain);
    // a node of the release before hints refuses the fragment; cut at "&h=", the link is the old one
    assert.equal(link.split("&h=")[0], plain);
    t.diagnostic(`link length: ${plain.length} characters without hints, ${link.length} with hints for a ${what}`);
    assert.ok(link.length <= 240, `${what}: a link stays short enough for a chat line (${link.length})`);
  }
  // a public share's link: hints alone in the fragment
  const pub = formatShareLink(id, null, encodeHints(publicSharer));
  assert.match(pub, /^peershare:\/\/[0-9a-f]{64}#h=[A-Za-z0-9_-]+$/);
  assert.deepEqual(parseShareLink(pub).key, null);
  assert.deepEqual(parseShareLink(pub).hints?.direct, publicSharer.direct);
  // links without hints parse as before
  assert.deepEqual(parseShareLink(plain), { contentId: id, key, hints: null });
});

test("a malformed link or hint part is refused with a sentence that says what is wrong", () => {
  const id = "cd".repeat(32);
  const key = randomBytes(32).toString("base64url");
  const good = encodeHints(natSharer);
  const bytes = Buffer.from(good, "base64url");
  const variant = (edit: (b: Buffer) => Buffer) => edit(Buffer.from(bytes)).toString("base64url");
  badLink(`peershare://${id}#k=${key}&h=`, /address hints \(h=…\) are unusable: they are empty/);
  badLink(`peershare://${id}#k=${key}&h=${good}!`, /not base64url/);
  badLink(`peershare://${id}#k=${key}&h=${variant((b) => b.subarray(0, b.length - 4))}`, /do not parse \(truncated.*copy the whole link/);
  badLink(`peershare://${id}#k=${key}&h=${variant((b) => b.fill(9, 0, 1))}`, /version 9, which this peershare \(version 1\) does not read/);
  badLink(`peershare://${id}#k=${key}&h=${variant((b) => b.fill(200, 33, 34))}`, /name 200 addresses, more than the 6 allowed/);
  badLink(`peershare://${id}#k=${key}&h=${good}AAAA`, /do not parse \(\d+ trailing bytes\)/);
  badLink(`peershare://${id}#k=${key}&h=${"A".repeat(500)}`, /500 characters long/);
  badLink(`peershare://${id}#h=${good}&k=${key}`, /"k=<base64url key>", "h=<address hints>" or both/);
  badLink(`peershare://${id}#k=${key}&h=${good}&h=${good}`, /or both/);
  badLink(`peershare://${id}#k=${key}&x=1`, /or both/);
  // port 0 in an address
  const port0 = encodeHints({ node: node.publicKey, direct: [{ host: "203.0.113.10", port: 1 }], rendezvous: [] });
  const p0 = Buffer.from(port0, "base64url");
  p0.writeUInt16BE(0, p0.length - 2);
  assert.throws(() => decodeHints(p0.toString("base64url")), (err: unknown) => err instanceof HintError && /port 0/.test(err.message));
});

test("an entry of a kind a later version adds is skipped by its length", () => {
  const bytes = Buffer.from(encodeHints(publicSharer), "base64url");
  const extended = Buffer.concat([bytes, Buffer.from([77, 3, 1, 2, 3])]);
  extended[33]++; // one more entry
  const decoded = decodeHints(extended.toString("base64url"));
  assert.equal(decoded.unknown, 1);
  assert.deepEqual(decoded.direct, publicSharer.direct);
});

test("any text as hints decodes or fails with a HintError", () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 500 }), fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString("base64url")), fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.concat([Buffer.from([1]), node.publicKey, Buffer.from(b)]).toString("base64url"))), (text) => {
      try {
        const h: Hints = decodeHints(text);
        assert.equal(h.node.length, 32);
        assert.ok(h.direct.length + h.rendezvous.length + h.unknown <= MAX_HINT_ENTRIES);
      } catch (err) {
        assert.ok(err instanceof HintError, `decodeHints threw ${String(err)}`);
      }
    }),
    { numRuns: 3000 },
  );
});

test("an invite with hints: parsed with them; the release before hints decodes exactly the invite without them", () => {
  const team = Identity.generate();
  const invite = Identity.generate();
  const invitation = createInvitation(team, invite, "write", Date.now() + 3600_000, node.publicKey, "core");
  const secrets = { invitation, inviteSeed: invite.seed(), convergenceSecret: randomBytes(32) };
  const plain = formatInvite(secrets);
  const hinted = formatInvite(secrets, encodeHints(natSharer));
  assert.ok(hinted.startsWith(plain + "="));
  assert.deepEqual(parseInvite(hinted).invitation.bytes, invitation.bytes);
  assert.deepEqual(inviteHints(hinted), { ...natSharer, unknown: 0 });
  assert.equal(inviteHints(plain), null);
  // what the previous release does: Buffer.from(everything after the prefix, "base64url")
  const body = (text: string) => Buffer.from(text.slice("peershare-invite:".length), "base64url");
  assert.deepEqual(body(hinted), body(plain));
  // a chat that broke the line does not break the invite
  assert.deepEqual(inviteHints(hinted.slice(0, 60) + "\n " + hinted.slice(60)), { ...natSharer, unknown: 0 });
  assert.throws(() => parseInvite(plain + "=AAAA"), (err: unknown) => err instanceof TeamCertError && /invite's address hints \(after "="\) are unusable: they are of version 0/.test(err.message));
});
