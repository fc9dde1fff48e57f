// Records held for the network survive a restart: written to records.bin and read back into a new
// store, expired ones left out, and a damaged file set aside instead of stopping the node.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { Identity } from "../../node-host/security/identity";
import { Contact } from "../../node-host/dht/messages";
import { RecordStore } from "../../node-host/dht/record-store";
import { createProviderRecord, createValueRecord, valueKey } from "../../node-host/dht/records";
import { loadRecords, saveRecords } from "../../node-host/dht/record-file";

function provider(): { identity: Identity; contact: Contact } {
  const identity = Identity.generate();
  return { identity, contact: { id: identity.id, publicKey: identity.publicKey, host: "10.0.0.7", port: 7420 } };
}

test("held records are read back after a restart; expired ones are not", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "record-file-"));
  const file = path.join(dir, "records.bin");
  const now = Date.now();
  const before = new RecordStore();
  const providers = Array.from({ length: 3 }, provider);
  const keys = Array.from({ length: 50 }, () => randomBytes(32));
  for (const key of keys) for (const p of providers) before.addProvider(createProviderRecord(p.identity, p.contact, key, now + 60_000));
  before.addProvider(createProviderRecord(providers[0].identity, providers[0].contact, randomBytes(32), now - 1)); // expired
  const publisher = Identity.generate();
  const value = createValueRecord(publisher, "status", Buffer.from("hello"), 4, now + 60_000);
  before.putValue(valueKey(value.publisher, value.name), value);

  await saveRecords(file, before, now);
  const after = new RecordStore();
  const logged: string[] = [];
  assert.equal(loadRecords(file, after, now, (l) => logged.push(l)), 151);
  assert.equal(after.providerCount, 150);
  for (const key of keys) {
    const got = after.getProviders(key);
    assert.deepEqual(got.map((r) => r.provider.id.toString("hex")).sort(), providers.map((p) => p.identity.id.toString("hex")).sort());
    assert.ok(got.every((r) => r.signature.length === 64 && r.provider.port === 7420 && r.provider.host === "10.0.0.7"));
  }
  const held = after.getValue(valueKey(value.publisher, value.name));
  assert.equal(held?.value.toString(), "hello");
  assert.equal(held?.seq, 4);
  assert.deepEqual(logged, []);
  // read again an hour later: everything has expired
  assert.equal(loadRecords(file, new RecordStore(), now + 3_600_000, () => undefined), 0);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a damaged records file is set aside with a log line, and the node starts without it", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "record-file-"));
  const file = path.join(dir, "records.bin");
  const store = new RecordStore();
  const p = provider();
  for (let i = 0; i < 10; i++) store.addProvider(createProviderRecord(p.identity, p.contact, randomBytes(32), Date.now() + 60_000));
  await saveRecords(file, store, Date.now());
  fs.truncateSync(file, fs.statSync(file).size - 20);
  const logged: string[] = [];
  assert.equal(loadRecords(file, new RecordStore(), Date.now(), (l) => logged.push(l)), 0);
  assert.match(logged[0] ?? "", /could not be read .*set aside/);
  assert.ok(fs.existsSync(`${file}.bad`) && !fs.existsSync(file));
  fs.rmSync(dir, { recursive: true, force: true });
});
