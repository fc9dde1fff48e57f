// Team certificates, the team book's view of peers, the access policy and the replica sink's
// refusal rules, in process (teams.test.ts in test/integration runs the same through real nodes).

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { Identity, SignatureVerifier } from "../../node-host/security/identity";
import { bindMember, createInvitation, createRevocations, decodeMembership, decodeRevocations, encodeMembership, formatInvite, membershipProblem, parseInvite, signerFromSeed } from "../../node-host/security/team-cert";
import { SecretStore, TeamBook } from "../../node-host/security/teams";
import { AudienceIndex } from "../../node-host/security/audiences";
import { AccessPolicy } from "../../node-host/security/access-policy";
import { CopyConfinement } from "../../node-host/security/copy-confinement";
import { AccessDeniedError } from "../../node-host/transport/bulk-api";
import { ReplicaSink } from "../../node-host/replication/replica-sink";
import { ReplicationFactors } from "../../node-host/replication/factors";
import { ReplicaPlacements } from "../../node-host/replication/placements";
import { ContentStore, fixedSizeChunker, shareFile } from "../../node-host/cas";
import { tempDir } from "../helpers/temp-dir";

const verifier = new SignatureVerifier();
const HOUR = 3600_000;


class MemorySecrets implements SecretStore {
  readonly map = new Map<string, Buffer>();
  async get(name: string) {
    return this.map.get(name) ?? null;
  }
  async set(name: string, secret: Buffer) {
    this.map.set(name, secret);
  }
}

function membershipFor(team: Identity, member: Identity, role: "read" | "write" = "read", expires = Date.now() + HOUR) {
  const invite = Identity.generate();
  return bindMember(createInvitation(team, invite, role, expires, team.publicKey, "core"), invite, member.publicKey);
}

test("a membership verifies for its own node only, and not once expired", () => {
  const team = Identity.generate();
  const alice = Identity.generate();
  const m = decodeMembership(encodeMembership(membershipFor(team, alice)));
  assert.equal(membershipProblem(m, alice.publicKey, Date.now(), verifier), null);
  assert.equal(membershipProblem(m, Identity.generate().publicKey, Date.now(), verifier), "bound to another node");
  assert.equal(membershipProblem(m, alice.publicKey, Date.now() + 2 * HOUR, verifier), "expired");
});

test("a forged membership fails: any flipped bit, an invitation re-signed by an outsider", () => {
  const team = Identity.generate();
  const alice = Identity.generate();
  const bytes = encodeMembership(membershipFor(team, alice));
  for (let i = 0; i < bytes.length; i += 7) {
    const bad = Buffer.from(bytes);
    bad[i] ^= 0x10;
    let problem: string | null;
    try {
      problem = membershipProblem(decodeMembership(bad), alice.publicKey, Date.now(), verifier);
    } catch {
      problem = "malformed";
    }
    assert.notEqual(problem, null, `flipped byte ${i} still verifies`);
  }
  // an outsider re-signs a genuine invitation (naming the real team key) with its own key
  const outsider = Identity.generate();
  const invite = Identity.generate();
  const genuine = createInvitation(team, invite, "write", Date.now() + HOUR, team.publicKey, "core");
  const body = genuine.bytes.subarray(0, genuine.bytes.length - 64);
  const signature = outsider.sign(body);
  const forged = bindMember({ ...genuine, signature, bytes: Buffer.concat([body, signature]) }, invite, alice.publicKey);
  assert.equal(membershipProblem(decodeMembership(encodeMembership(forged)), alice.publicKey, Date.now(), verifier), "invitation not signed by the team key");
});

test("invites round-trip; a damaged invite is a clear error", () => {
  const team = Identity.generate();
  const inviteSeed = randomBytes(32);
  const invitation = createInvitation(team, signerFromSeed(inviteSeed), "write", Date.now() + HOUR, team.publicKey, "core team");
  const text = formatInvite({ invitation, inviteSeed, convergenceSecret: randomBytes(32) });
  const back = parseInvite(`  ${text}\n`);
  assert.equal(back.invitation.teamName, "core team");
  assert.equal(back.invitation.role, "write");
  assert.ok(back.inviteSeed.equals(inviteSeed));
  assert.throws(() => parseInvite(text.slice(0, -10)), /not a valid invite/);
  assert.throws(() => parseInvite("hello"), /an invite starts with/);
});

test("revocation lists: checked against the team key, the highest sequence number wins", () => {
  const team = Identity.generate();
  const list = createRevocations(team, 3, [randomBytes(32)]);
  assert.equal(decodeRevocations(list.bytes, verifier)?.seq, 3);
  const bad = Buffer.from(list.bytes);
  bad[bad.length - 70] ^= 1;
  assert.equal(decodeRevocations(bad, verifier), null);
  assert.equal(decodeRevocations(bad.subarray(0, 20), verifier), null);
});

async function bookWithTeam() {
  const dir = tempDir("teams-unit");
  const me = Identity.generate();
  const secrets = new MemorySecrets();
  const book = TeamBook.load(dir, me, secrets);
  await book.create("core");
  return { dir, me, secrets, book };
}

test("the team book: members prove roles in HELLO credentials; revocation ends them; state survives a reload", async () => {
  const { dir, me, secrets, book } = await bookWithTeam();
  const teamKey = book.keyOf("core");
  const { invite } = await book.invite("core", "read");
  const readerDir = tempDir("teams-unit");
  const reader = Identity.generate();
  const readerBook = TeamBook.load(readerDir, reader, new MemorySecrets());
  await readerBook.join(invite);

  book.received(reader.id, reader.publicKey, readerBook.own());
  assert.equal(book.roleOf(reader.id, teamKey), "read");
  assert.deepEqual(book.sharedTeams(reader.id, "write"), []);
  // credentials shown by another node than the one they are bound to count for nothing
  const thief = Identity.generate();
  book.received(thief.id, thief.publicKey, readerBook.own());
  assert.equal(book.roleOf(thief.id, teamKey), null);

  await book.revoke("core", reader.id.toString("hex"));
  assert.equal(book.roleOf(reader.id, teamKey), null);
  // the revocation spreads: the reader's book adopts the admin's newer list
  readerBook.received(me.id, me.publicKey, book.own());
  assert.equal(readerBook.members("core").find((m) => m.self)?.revoked, true);

  const reloaded = TeamBook.load(dir, me, secrets);
  assert.equal(reloaded.list()[0].revoked, 1);
  assert.equal(reloaded.members("core").find((m) => m.nodeId === reader.id.toString("hex"))?.revoked, true);
  await assert.rejects(readerBook.invite("core", "read"), /only the node that created team "core"/);
});

test("an invite made for one node: only that node can join with it, or bind it by hand", async () => {
  const { book } = await bookWithTeam();
  const alice = Identity.generate();
  const mallory = Identity.generate();
  const made = await book.invite("core", "write", undefined, alice.id);
  assert.equal(made.forNode, alice.id.toString("hex"));
  const parsed = parseInvite(made.invite);
  assert.ok(parsed.invitation.forNode?.equals(alice.id));

  // someone else who got hold of the invite string cannot use it
  const malloryBook = TeamBook.load(tempDir("teams-unit"), mallory, new MemorySecrets());
  await assert.rejects(malloryBook.join(made.invite), /this invite cannot be used: it was made for node .*not this one/);
  assert.deepEqual(malloryBook.list(), []);
  // nor a membership bound by hand: the team signed the node ID into the invitation
  const stolen = bindMember(parsed.invitation, signerFromSeed(parsed.inviteSeed), mallory.publicKey);
  assert.equal(membershipProblem(decodeMembership(encodeMembership(stolen)), mallory.publicKey, Date.now(), verifier), "the invitation is for another node");

  const aliceBook = TeamBook.load(tempDir("teams-unit"), alice, new MemorySecrets());
  await aliceBook.join(made.invite);
  book.received(alice.id, alice.publicKey, aliceBook.own());
  assert.equal(book.roleOf(alice.id, book.keyOf("core")), "write");
  // an invite for anyone is the version 1 format, as before
  const open = parseInvite((await book.invite("core", "read")).invite).invitation;
  assert.equal(open.forNode, null);
  assert.equal(open.bytes[4], 1);
});

test("the access policy: open without teams; public to anyone; team content to members; pushes from writers only", async () => {
  const stranger = Identity.generate();
  const open = new AccessPolicy(TeamBook.load(tempDir("teams-unit"), Identity.generate(), new MemorySecrets()), AudienceIndex.load(tempDir("teams-unit")));
  open.checkGet(stranger.id, randomBytes(32));
  open.checkPush(stranger.id);

  const { dir, book } = await bookWithTeam();
  const audiences = AudienceIndex.load(dir);
  const policy = new AccessPolicy(book, audiences);
  const [teamContent, teamChunk, publicContent, other] = [randomBytes(32), randomBytes(32), randomBytes(32), randomBytes(32)];
  audiences.set(teamContent, { kind: "teams", teams: [book.keyOf("core")] }, [teamChunk]);
  audiences.set(publicContent, { kind: "public" }, []);
  policy.checkGet(stranger.id, publicContent);
  assert.throws(() => policy.checkGet(stranger.id, teamContent), (e: Error) => e instanceof AccessDeniedError && /shared with team "core"/.test(e.message));
  assert.throws(() => policy.checkGet(stranger.id, teamChunk), AccessDeniedError);
  assert.throws(() => policy.checkGet(stranger.id, other), /serves only members of its teams/);
  assert.throws(() => policy.checkPush(stranger.id), /write role/);

  const reader = Identity.generate();
  const writer = Identity.generate();
  for (const [who, role] of [[reader, "read"], [writer, "write"]] as const) {
    const b = TeamBook.load(tempDir("teams-unit"), who, new MemorySecrets());
    await b.join((await book.invite("core", role)).invite);
    book.received(who.id, who.publicKey, b.own());
  }
  policy.checkGet(reader.id, teamContent);
  policy.checkGet(reader.id, teamChunk);
  assert.throws(() => policy.checkPush(reader.id), AccessDeniedError);
  policy.checkPush(writer.id);
  // the audience index survives a reload
  assert.equal(AudienceIndex.load(dir).of(teamChunk)?.kind, "teams");
});

test("the replica sink refuses what it must: unauthorised peers, stray chunks, over-quota pushes, bytes that do not hash to their id", async () => {
  const dir = tempDir("teams-unit");
  const store = await ContentStore.open(path.join(dir, "store"));
  const source = await ContentStore.open(path.join(dir, "source"));
  const file = path.join(dir, "f.bin");
  fs.writeFileSync(file, randomBytes(200_000));
  const shared = await shareFile(source, file, { public: true });
  const [manifestId, ...chunkIds] = shared.objectIds;
  const bytesOf = async (id: Buffer) => (await source.get(id))!;
  const recorded: string[] = [];
  const allowed = Identity.generate();
  let quota = 1 << 30;
  const sink = new ReplicaSink({
    store,
    factors: new ReplicationFactors(dir, () => 3),
    quotaBytesPerPeer: () => quota,
    placements: new ReplicaPlacements(dir, store),
    authorize: (from) => {
      if (!from.equals(allowed.id)) throw new AccessDeniedError("not a writer");
    },
    recordAudience: (contentId, audience) => recorded.push(`${contentId.toString("hex")}:${audience.kind}`),
    onComplete: async () => undefined,
  });
  const stranger = Identity.generate();
  await assert.rejects(sink.offer(stranger.id, [manifestId], 3, { kind: "public" }), AccessDeniedError);
  await assert.rejects(sink.putObject(stranger.id, manifestId, await bytesOf(manifestId)), AccessDeniedError);

  // a chunk of no manifest held here is refused
  assert.equal(await sink.putObject(allowed.id, chunkIds[0], await bytesOf(chunkIds[0])), "refused");
  // bytes that do not hash to the id are refused
  assert.equal(await sink.putObject(allowed.id, manifestId, randomBytes(100)), "refused");

  await sink.offer(allowed.id, [manifestId, ...chunkIds], 3, { kind: "public" });
  assert.equal(await sink.putObject(allowed.id, manifestId, await bytesOf(manifestId)), "stored");
  assert.deepEqual(recorded, [`${manifestId.toString("hex")}:public`]);
  quota = 0; // over quota from here on
  assert.equal(await sink.putObject(allowed.id, chunkIds[0], await bytesOf(chunkIds[0])), "refused");
  quota = 1 << 30;
  for (const c of chunkIds) assert.equal(await sink.putObject(allowed.id, c, await bytesOf(c)), "stored");
  assert.deepEqual(store.pinsOf(manifestId), ["replica"]);
});

test("the replica quota counts what a peer's replicas still take here, across a restart", async () => {
  const dir = tempDir("teams-unit");
  const source = await ContentStore.open(path.join(dir, "source"));
  const shareOf = async (name: string) => {
    fs.writeFileSync(path.join(dir, name), randomBytes(200_000));
    const shared = await shareFile(source, path.join(dir, name), { public: true, chunker: fixedSizeChunker(64 * 1024) });
    const objects = await Promise.all(shared.objectIds.map(async (id) => ({ id, bytes: (await source.get(id))! })));
    return { ids: shared.objectIds, objects, bytes: objects.reduce((n, o) => n + o.bytes.length, 0) };
  };
  const [a, b] = [await shareOf("a.bin"), await shareOf("b.bin")];
  const pusher = Identity.generate();
  const quota = a.bytes + 1000; // room for a, not for a and b's manifest and chunks
  const openSink = async (store: ContentStore) => {
    const placements = new ReplicaPlacements(dir, store);
    const sink = new ReplicaSink({ store, factors: new ReplicationFactors(dir, () => 3), quotaBytesPerPeer: () => quota, placements, onComplete: async () => undefined });
    await sink.load();
    return { sink, placements };
  };
  const push = async (sink: ReplicaSink, share: typeof a) => {
    await sink.offer(pusher.id, share.ids, 2, { kind: "public" });
    const results = [];
    for (const o of share.objects) results.push(await sink.putObject(pusher.id, o.id, o.bytes));
    return results;
  };

  let store = await ContentStore.open(path.join(dir, "store"));
  let { sink, placements } = await openSink(store);
  assert.deepEqual(await push(sink, a), a.objects.map(() => "stored"));
  assert.ok((await push(sink, b)).includes("refused"), "b does not fit beside a");
  assert.equal(placements.usedBy(pusher.id.toString("hex")) >= a.bytes, true);

  // a restart: the quota is what a still takes, not zero
  await store.close();
  store = await ContentStore.open(path.join(dir, "store"));
  ({ sink, placements } = await openSink(store));
  assert.ok(placements.usedBy(pusher.id.toString("hex")) >= a.bytes, "the count survives a restart");
  // b's manifest fitted beside a before the restart; its chunks did not, and still do not
  const [bManifest, bChunk] = b.objects;
  assert.ok(await store.has(bManifest.id));
  assert.equal(await sink.putObject(pusher.id, bChunk.id, bChunk.bytes), "refused", "still over quota after the restart");

  // a dropped replica stops counting: b fits now
  await store.unpin(a.ids, "replica");
  assert.equal(placements.usedBy(pusher.id.toString("hex")), bManifest.bytes.length, "only what is still held counts");
  assert.deepEqual(await push(sink, b), b.objects.map(() => "stored"));
});

test("copy confinement: a team share's copies go to members of any role only; writers place them; a node refuses offers for teams it is not in", async () => {
  const { dir, me, book } = await bookWithTeam();
  const teamKey = book.keyOf("core");
  const audiences = AudienceIndex.load(dir);
  const confinement = new CopyConfinement(book, audiences, me.id);
  const [teamContent, publicContent] = [randomBytes(32), randomBytes(32)];
  audiences.set(teamContent, { kind: "teams", teams: [teamKey] }, []);
  audiences.set(publicContent, { kind: "public" }, []);

  const reader = Identity.generate();
  const stranger = Identity.generate();
  const unseen = Identity.generate();
  const readerBook = TeamBook.load(tempDir("teams-unit"), reader, new MemorySecrets());
  await readerBook.join((await book.invite("core", "read")).invite);
  book.received(reader.id, reader.publicKey, readerBook.own());
  book.received(stranger.id, stranger.publicKey, { memberships: [], revocations: [] });

  assert.equal(confinement.eligibility(publicContent), null, "a public share goes anywhere");
  assert.equal(confinement.refusal(stranger.id, publicContent), null);
  const e = confinement.eligibility(teamContent)!;
  assert.deepEqual([e.holder(reader.id), e.holder(stranger.id), e.holder(unseen.id), e.holder(me.id)], [true, false, null, true]);
  assert.deepEqual([e.placer(reader.id), e.placer(me.id)], [false, true], "the reader holds copies but does not place them");
  assert.equal(confinement.refusal(reader.id, teamContent), null);
  assert.match(confinement.refusal(stranger.id, teamContent)!, /shared with team "core", and node .* has shown no valid membership/);
  assert.equal(confinement.shortfall(teamContent), 'too few live members of team "core"');

  // the receiving end: a node in no team, or in other teams, refuses an offer made for "core"
  assert.throws(() => new CopyConfinement(TeamBook.load(tempDir("teams-unit"), stranger, new MemorySecrets()), AudienceIndex.load(tempDir("teams-unit")), stranger.id).checkOffer({ kind: "teams", teams: [teamKey] }), /not in team/);
  new CopyConfinement(readerBook, AudienceIndex.load(tempDir("teams-unit")), reader.id).checkOffer({ kind: "teams", teams: [teamKey] });
  confinement.checkOffer({ kind: "public" });

  // revoked: no longer a holder
  await book.revoke("core", reader.id.toString("hex"));
  assert.equal(e.holder(reader.id), false);
  assert.match(confinement.refusal(reader.id, teamContent)!, /no valid membership/);
});

test("the access policy: a node in a team passes on no copy it merely fetched (cache), and does not even say it holds one", async () => {
  const { dir, book } = await bookWithTeam();
  const audiences = AudienceIndex.load(dir);
  const kept = new Set<string>();
  const policy = new AccessPolicy(book, audiences, (id) => kept.has(id.toString("hex")));
  const member = Identity.generate();
  const b = TeamBook.load(tempDir("teams-unit"), member, new MemorySecrets());
  await b.join((await book.invite("core", "write")).invite);
  book.received(member.id, member.publicKey, b.own());
  const [cached, oldShare] = [randomBytes(32), randomBytes(32)];
  kept.add(oldShare.toString("hex")); // an own share with no audience recorded (made before teams)
  assert.throws(() => policy.checkGet(member.id, cached), /does not pass on copies it fetched for itself/);
  assert.equal(policy.mayGet(member.id, cached), false);
  policy.checkGet(member.id, oldShare);
  assert.equal(policy.mayGet(member.id, oldShare), true);
  // a node in no team serves its cache as before
  const open = new AccessPolicy(TeamBook.load(tempDir("teams-unit"), Identity.generate(), new MemorySecrets()), AudienceIndex.load(tempDir("teams-unit")), () => false);
  open.checkGet(member.id, cached);
});
