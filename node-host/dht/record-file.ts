// Records this node holds for the network, kept across restarts (records.bin in the data dir).
// Other nodes stored them here; without the file a restart would lose them all until their
// publishers announce again (an hour by default), and a lookup that counts this node among the
// closest would find nothing here. Written atomically on a graceful stop and every few minutes;
// read once at start, dropping expired records. A file that cannot be read is set aside with a
// log line: the records come back with the next announcements.

import * as fs from "node:fs";
import * as path from "node:path";
import { BinaryReader, BinaryWriter } from "../util/binary";
import { ID_BYTES } from "./id";
import { RecordStore } from "./record-store";
import { readProvider, readValueRecord, writeProvider, writeValueRecord } from "../transport/wire";
import { writeFileDurably } from "../cas/durable-write";

const MAGIC = Buffer.from("PSREC1\n");

/** The held records as bytes: values (key, record), then providers (key, record). */
export function encodeRecords(store: RecordStore, now: number): Buffer {
  const w = new BinaryWriter(64 * 1024);
  w.bytes(MAGIC);
  const values = store.heldValues().filter((v) => v.record.expires > now);
  w.u32(values.length);
  for (const v of values) writeValueRecord(w.bytes(v.key), v.record);
  const providers = [...store.heldProviders()].filter((p) => p.expires > now);
  w.u32(providers.length);
  for (const p of providers) writeProvider(w.bytes(p.key), p);
  return w.finish();
}

/** Puts the records in `bytes` that have not expired into `store`; returns how many it took. */
export function decodeRecordsInto(bytes: Buffer, store: RecordStore, now: number): number {
  const r = new BinaryReader(bytes);
  if (!r.bytes(MAGIC.length).equals(MAGIC)) throw new Error("not a records file");
  let taken = 0;
  for (let n = r.u32(); n > 0; n--) {
    const key = Buffer.from(r.bytes(ID_BYTES));
    const record = readValueRecord(r);
    if (record.expires > now && store.putValue(key, record) === "stored") taken++;
  }
  for (let n = r.u32(); n > 0; n--) {
    const record = readProvider(r, Buffer.from(r.bytes(ID_BYTES)));
    if (record.expires > now && store.addProvider(record) === "stored") taken++;
  }
  r.end();
  return taken;
}

export async function saveRecords(file: string, store: RecordStore, now: number): Promise<void> {
  await writeFileDurably(path.dirname(file), file, encodeRecords(store, now), 0o600);
}

/** Loads the records file if there is one; a damaged one is moved aside (`.bad`) and logged. */
export function loadRecords(file: string, store: RecordStore, now: number, log: (line: string) => void): number {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return 0; // none yet
  }
  try {
    return decodeRecordsInto(bytes, store, now);
  } catch (err) {
    log(`records file ${file} could not be read (${(err as Error).message}); set aside as ${file}.bad, records come back as their publishers announce them`);
    try {
      fs.renameSync(file, `${file}.bad`);
    } catch {
      // left where it is: read (and set aside) again at the next start
    }
    return 0;
  }
}
