// The fetcher's scheduling and safety, with holders simulated in process (each backed by a real
// store on disk); the real transports are covered by the bulk and integration tests.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { ContentStore, shareFile, assembleFile } from "../../node-host/cas";
import { fetchContent, FetchError } from "../../node-host/transfer/fetcher";
import { BulkClient, BulkPeer, ObjectNotFoundError } from "../../node-host/transport/bulk";
import { tempDir } from "../helpers/temp-dir";

const tmp = () => tempDir("fetch");

interface FakeHolder {
  peer: BulkPeer;
  store: ContentStore | null;
  corrupt?: boolean;
  served: number;
  failAfter?: number;
  /** Requests that fail ("timed out") before it answers. */
  failFirst?: number;
}

function fakeBulk(holders: FakeHolder[]): BulkClient {
  return {
    async getObject(peer, id) {
      const h = holders.find((x) => x.peer.id.equals(peer.id))!;
      if (h.failAfter !== undefined && h.served >= h.failAfter) throw new Error("connection reset");
      if (h.failFirst && h.failFirst-- > 0) throw new Error("request timed out");
      const bytes = h.store ? await h.store.get(id) : null;
      if (!bytes) throw new ObjectNotFoundError(id);
      h.served++;
      await new Promise((r) => setImmediate(r));
      if (h.corrupt) {
        const bad = Buffer.from(bytes);
        bad[0] ^= 1;
        return bad;
      }
      return bytes;
    },
    async pathTo() {
      return "tls";
    },
    async close() {},
  };
}

function peer(): BulkPeer {
  return { id: randomBytes(32), publicKey: randomBytes(32), host: "127.0.0.1", port: 1 };
}

async function sharedFixture(size: number) {
  const dir = tmp();
  fs.mkdirSync(path.join(dir, "src"));
  const file = path.join(dir, "src", "original.bin");
  fs.writeFileSync(file, randomBytes(size));
  const source = await ContentStore.open(path.join(dir, "source"));
  const shared = await shareFile(source, file);
  return { dir, file, source, shared };
}

const sha = (f: string) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");

test("chunks come from several holders at once, and the file is identical", async () => {
  const { dir, file, source, shared } = await sharedFixture(12 << 20);
  const holders = [0, 1, 2].map(() => ({ peer: peer(), store: source, served: 0 }) as FakeHolder);
  const store = await ContentStore.open(path.join(dir, "fetcher"));
  const r = await fetchContent({ link: shared.link, store, bulk: fakeBulk(holders), findHolders: async () => holders.map((h) => h.peer) });
  assert.ok(holders.every((h) => h.served > 0), `served: ${holders.map((h) => h.served)}`);
  assert.equal(r.holdersUsed, 3);
  const out = await assembleFile(store, r.manifest, { dir });
  assert.equal(sha(out), sha(file));
});

test("a holder that sends corrupt bytes is dropped and its chunks come from the others", async () => {
  const { dir, file, source, shared } = await sharedFixture(6 << 20);
  const liar = { peer: peer(), store: source, served: 0, corrupt: true } as FakeHolder;
  const honest = { peer: peer(), store: source, served: 0 } as FakeHolder;
  const store = await ContentStore.open(path.join(dir, "fetcher"));
  const r = await fetchContent({ link: shared.link, store, bulk: fakeBulk([liar, honest]), findHolders: async () => [liar.peer, honest.peer] });
  assert.deepEqual(r.badHolders, [liar.peer.id.toString("hex")]);
  const out = await assembleFile(store, r.manifest, { dir });
  assert.equal(sha(out), sha(file));
});

test("a holder that dies mid-fetch is dropped; the fetch completes from the rest", async () => {
  const { dir, file, source, shared } = await sharedFixture(8 << 20);
  const dying = { peer: peer(), store: source, served: 0, failAfter: 2 } as FakeHolder;
  const other = { peer: peer(), store: source, served: 0 } as FakeHolder;
  const store = await ContentStore.open(path.join(dir, "fetcher"));
  const r = await fetchContent({ link: shared.link, store, bulk: fakeBulk([dying, other]), findHolders: async () => [dying.peer, other.peer] });
  const out = await assembleFile(store, r.manifest, { dir });
  assert.equal(sha(out), sha(file));
});

test("requests go on while received chunks are being stored", async () => {
  const { dir, file, source, shared } = await sharedFixture(12 << 20);
  const h = { peer: peer(), store: source, served: 0 } as FakeHolder;
  const store = await ContentStore.open(path.join(dir, "fetcher"));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const putVerified = store.putVerified.bind(store);
  store.putVerified = async (id, bytes, options) => {
    if (options?.kind === "chunk") await gate; // no chunk is stored until the gate opens
    return putVerified(id, bytes, options);
  };
  const fetching = fetchContent({ link: shared.link, store, bulk: fakeBulk([h]), findHolders: async () => [h.peer], window: 1 });
  // waits in time, not in event-loop turns: on a busy machine the holder's answers take longer
  for (const until = Date.now() + 10_000; h.served < 4 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 5));
  release();
  assert.ok(h.served >= 4, `the manifest and 3 chunks requested with none stored yet (served ${h.served})`);
  const r = await fetching;
  const out = await assembleFile(store, r.manifest, { dir });
  assert.equal(sha(out), sha(file));
});

test("each received object's memory is given back to the transport once it is stored, not before", async () => {
  const { dir, file, source, shared } = await sharedFixture(8 << 20);
  const h = { peer: peer(), store: source, served: 0 } as FakeHolder;
  const store = await ContentStore.open(path.join(dir, "fetcher"));
  const stored = new Set<string>();
  const putVerified = store.putVerified.bind(store);
  store.putVerified = async (id, bytes, options) => {
    const r = await putVerified(id, bytes, options);
    stored.add(id.toString("hex"));
    return r;
  };
  const handedOut = new Map<Buffer, string>();
  const inner = fakeBulk([h]);
  const bulk: BulkClient = {
    ...inner,
    async getObject(p, id, signal) {
      const bytes = await inner.getObject(p, id, signal);
      handedOut.set(bytes, id.toString("hex"));
      return bytes;
    },
    release(bytes) {
      const id = handedOut.get(bytes);
      assert.ok(id, "released once, and only what was handed out");
      assert.ok(stored.has(id), "released after the store has it (hashed and written), not before");
      handedOut.delete(bytes);
    },
  };
  const r = await fetchContent({ link: shared.link, store, bulk, findHolders: async () => [h.peer] });
  assert.equal(handedOut.size, 0, "every object given back");
  const out = await assembleFile(store, r.manifest, { dir });
  assert.equal(sha(out), sha(file));
});

test("an interrupted fetch resumes without fetching what is already on disk", async () => {
  const { dir, file, source, shared } = await sharedFixture(10 << 20);
  const h = { peer: peer(), store: source, served: 0 } as FakeHolder;
  const storeDir = path.join(dir, "fetcher");
  let store = await ContentStore.open(storeDir);
  const abort = new AbortController();
  let seen = 0;
  await assert.rejects(
    fetchContent({
      link: shared.link,
      store,
      bulk: fakeBulk([h]),
      findHolders: async () => [h.peer],
      window: 1,
      signal: abort.signal,
      onProgress: (p) => {
        if (++seen === 4) abort.abort();
        void p;
      },
    }),
  );
  await store.close();
  store = await ContentStore.open(storeDir); // as after a restart
  const before = h.served;
  const r = await fetchContent({ link: shared.link, store, bulk: fakeBulk([h]), findHolders: async () => [h.peer] });
  assert.ok(r.bytesReused > 0, "reused chunks from the first attempt");
  assert.ok(h.served - before < r.manifest.chunks.length + 1, "fewer objects moved the second time");
  const out = await assembleFile(store, r.manifest, { dir });
  assert.equal(sha(out), sha(file));
});

test("no holders, or holders without the content, end in a clear error", async () => {
  const { dir, shared } = await sharedFixture(1 << 20);
  const store = await ContentStore.open(path.join(dir, "fetcher"));
  await assert.rejects(fetchContent({ link: shared.link, store, bulk: fakeBulk([]), findHolders: async () => [] }), (e: Error) => e instanceof FetchError && /no node holds/.test(e.message));
  const empty = { peer: peer(), store: null, served: 0 } as FakeHolder;
  await assert.rejects(fetchContent({ link: shared.link, store, bulk: fakeBulk([empty]), findHolders: async () => [empty.peer] }), FetchError);
});

test("a failure on the fetching node's side (a full disk) ends the fetch with that error, and no holder is blamed", async () => {
  const { dir, source, shared } = await sharedFixture(32 << 20);
  const chunks = shared.manifest.chunks.length;
  const full = () => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
  for (const where of ["manifest", "store", "output"] as const) {
    const h = { peer: peer(), store: source, served: 0 } as FakeHolder;
    const store = await ContentStore.open(path.join(dir, `fetcher-${where}`));
    if (where !== "output") {
      const putVerified = store.putVerified.bind(store);
      store.putVerified = async (id, bytes, options) => {
        if (options?.kind === (where === "manifest" ? "manifest" : "chunk")) throw full();
        return putVerified(id, bytes, options);
      };
    }
    const fetching = fetchContent({
      link: shared.link,
      store,
      bulk: fakeBulk([h]),
      findHolders: async () => [h.peer],
      onChunk: where === "output" ? async () => Promise.reject(full()) : undefined,
    });
    await assert.rejects(fetching, (e: Error & { code?: string }) => e.code === "ENOSPC", `${where}: the disk's error, not "no live holder" or "none of the holders could send its manifest"`);
    // what was already requested still arrives (a window per holder), but no new request goes out
    assert.ok(h.served < chunks / 2, `${where}: the fetch stopped early (${h.served} of ${chunks + 1} objects served)`);
  }
});

test("when every holder failed to send the manifest, holders are looked up again and one that failed for a passing reason is asked again", async () => {
  const { dir, file, source, shared } = await sharedFixture(1 << 20);
  const busy = { peer: peer(), store: source, served: 0, failFirst: 1 } as FakeHolder;
  const store = await ContentStore.open(path.join(dir, "fetcher"));
  let lookups = 0;
  const r = await fetchContent({ link: shared.link, store, bulk: fakeBulk([busy]), findHolders: async () => (lookups++, [busy.peer]) });
  assert.equal(lookups, 2, "the holders were looked up again");
  const out = await assembleFile(store, r.manifest, { dir });
  assert.equal(sha(out), sha(file));

  // one that refused or lacked the object is not asked again: the fetch ends with the reason
  const lacking = { peer: peer(), store: null, served: 0 } as FakeHolder;
  let asked = 0;
  const bulk = fakeBulk([lacking]);
  const counting: BulkClient = { ...bulk, getObject: (p, id, signal) => (asked++, bulk.getObject(p, id, signal)) };
  await assert.rejects(fetchContent({ link: shared.link, store: await ContentStore.open(path.join(dir, "fetcher2")), bulk: counting, findHolders: async () => [lacking.peer] }), /could send its manifest \(\w{8}… does not have it\)/);
  assert.equal(asked, 1, "the holder that lacks it was asked once");
});
