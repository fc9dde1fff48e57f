// Binary encodings of the DHT messages carried inside a UDP envelope (see envelope.ts).
// Lists of contacts are cut to fit the datagram budget; decoding rejects anything malformed.

import { BinaryReader, BinaryWriter, WireFormatError } from "../util/binary";
import { ID_BYTES } from "../dht/id";
import { Contact, ProviderRecord, Request, Response, ValueRecord } from "../dht/messages";
import { MAX_NAME_BYTES, MAX_VALUE_BYTES } from "../dht/records";
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from "../security/identity";
import { encodedContact, readContact, writeContact } from "./contact-codec";

export const MessageTypes = {
  ping: 0x01,
  find_node: 0x02,
  find_value: 0x03,
  store: 0x04,
  add_provider: 0x05,
  get_providers: 0x06,
  leave: 0x07,
  signal: 0x08,
  credentials: 0x09,
  pong: 0x81,
  nodes: 0x82,
  value: 0x83,
  stored: 0x84,
  signal_reply: 0x88,
  providers: 0x86,
  error: 0xff,
} as const;


export function isResponseType(code: number): boolean {
  return (code & 0x80) !== 0;
}


const MAX_CONTACTS = 255;
const MAX_PROVIDERS_PER_REPLY = 4;
const MAX_ERROR_TEXT = 200;
/** Largest signalling payload: what fits in a datagram with the length prefix. */
export const MAX_SIGNAL_BYTES = 1000;
/** Largest team membership in a CREDENTIALS request (an encoded one is under 400 bytes). */
export const MAX_CREDENTIAL_BYTES = 512;

// ---- contacts (contact-codec.ts) ---------------------------------------------

/** Writes as many contacts as fit in `budget` bytes (count byte included). */
function writeContacts(w: BinaryWriter, contacts: Contact[], budget: number): void {
  let used = 1;
  const fitting: Contact[] = [];
  for (const c of contacts) {
    const size = encodedContact(c).length;
    if (used + size > budget || fitting.length === MAX_CONTACTS) break;
    used += size;
    fitting.push(c);
  }
  w.u8(fitting.length);
  for (const c of fitting) writeContact(w, c);
}

function readContacts(r: BinaryReader): Contact[] {
  const n = r.u8();
  const out: Contact[] = [];
  for (let i = 0; i < n; i++) out.push(readContact(r));
  return out;
}

// ---- records ----------------------------------------------------------------

export function writeValueRecord(w: BinaryWriter, rec: ValueRecord): void {
  w.bytes(rec.publisher).varBytes(Buffer.from(rec.name, "utf8")).varBytes(rec.value).u64(rec.seq).u64(rec.expires).bytes(rec.signature);
}

export function readValueRecord(r: BinaryReader): ValueRecord {
  const publisher = Buffer.from(r.bytes(PUBLIC_KEY_BYTES));
  const nameBytes = r.varBytes(MAX_NAME_BYTES);
  const name = nameBytes.toString("utf8");
  if (!Buffer.from(name, "utf8").equals(nameBytes)) throw new WireFormatError("name is not UTF-8");
  const value = Buffer.from(r.varBytes(MAX_VALUE_BYTES));
  const seq = r.u64();
  const expires = r.u64();
  const signature = Buffer.from(r.bytes(SIGNATURE_BYTES));
  return { publisher, name, value, seq, expires, signature };
}

export function writeProvider(w: BinaryWriter, p: ProviderRecord): void {
  writeContact(w, p.provider);
  w.u64(p.expires).bytes(p.signature);
}

export function readProvider(r: BinaryReader, key: Buffer): ProviderRecord {
  const provider = readContact(r);
  const expires = r.u64();
  const signature = Buffer.from(r.bytes(SIGNATURE_BYTES));
  return { key, provider, expires, signature };
}

function readId(r: BinaryReader): Buffer {
  return Buffer.from(r.bytes(ID_BYTES));
}

// ---- messages ---------------------------------------------------------------

export function encodeRequest(req: Request): { type: number; payload: Buffer } {
  const w = new BinaryWriter();
  switch (req.type) {
    case "ping":
    case "leave":
      break;
    case "find_node":
      w.bytes(req.target);
      break;
    case "find_value":
    case "get_providers":
      w.bytes(req.key);
      break;
    case "store":
      writeValueRecord(w, req.record);
      break;
    case "signal":
      w.varBytes(req.payload);
      break;
    case "credentials":
      w.varBytes(req.membership);
      break;
    case "add_provider":
      // The provider's address is the one the receiver sees the request come from.
      w.bytes(req.record.key).u64(req.record.expires).bytes(req.record.signature);
      break;
  }
  return { type: MessageTypes[req.type], payload: w.finish() };
}

/** Decodes a request; `from` is the authenticated sender (needed for provider records). */
export function decodeRequest(type: number, payload: Buffer, from: Contact): Request {
  const r = new BinaryReader(payload);
  let req: Request;
  switch (type) {
    case MessageTypes.ping:
      req = { type: "ping" };
      break;
    case MessageTypes.leave:
      req = { type: "leave" };
      break;
    case MessageTypes.find_node:
      req = { type: "find_node", target: readId(r) };
      break;
    case MessageTypes.find_value:
      req = { type: "find_value", key: readId(r) };
      break;
    case MessageTypes.get_providers:
      req = { type: "get_providers", key: readId(r) };
      break;
    case MessageTypes.store:
      req = { type: "store", record: readValueRecord(r) };
      break;
    case MessageTypes.signal:
      req = { type: "signal", payload: Buffer.from(r.varBytes(MAX_SIGNAL_BYTES)) };
      break;
    case MessageTypes.credentials:
      req = { type: "credentials", membership: Buffer.from(r.varBytes(MAX_CREDENTIAL_BYTES)) };
      break;
    case MessageTypes.add_provider: {
      const key = readId(r);
      const expires = r.u64();
      const signature = Buffer.from(r.bytes(SIGNATURE_BYTES));
      req = { type: "add_provider", record: { key, provider: from, expires, signature } };
      break;
    }
    default:
      throw new WireFormatError(`unknown request type ${type}`);
  }
  r.end();
  return req;
}

export function encodeResponse(res: Response, budget: number): { type: number; payload: Buffer } {
  const w = new BinaryWriter(budget);
  switch (res.type) {
    case "pong":
    case "stored":
      break;
    case "nodes":
      writeContacts(w, res.contacts, budget);
      break;
    case "value":
      writeValueRecord(w, res.record);
      break;
    case "providers": {
      const providers = res.providers.slice(0, MAX_PROVIDERS_PER_REPLY);
      const key = providers[0]?.key ?? Buffer.alloc(ID_BYTES);
      w.bytes(key).u8(providers.length);
      for (const p of providers) writeProvider(w, p);
      writeContacts(w, res.contacts, budget - w.size);
      break;
    }
    case "signal":
      w.varBytes(res.payload);
      break;
    case "error":
      w.u8(res.code).varBytes(Buffer.from(res.message, "utf8").subarray(0, MAX_ERROR_TEXT));
      break;
  }
  return { type: res.type === "signal" ? MessageTypes.signal_reply : MessageTypes[res.type], payload: w.finish() };
}

export function decodeResponse(type: number, payload: Buffer): Response {
  const r = new BinaryReader(payload);
  let res: Response;
  switch (type) {
    case MessageTypes.pong:
      res = { type: "pong" };
      break;
    case MessageTypes.stored:
      res = { type: "stored" };
      break;
    case MessageTypes.nodes:
      res = { type: "nodes", contacts: readContacts(r) };
      break;
    case MessageTypes.value:
      res = { type: "value", record: readValueRecord(r) };
      break;
    case MessageTypes.providers: {
      const key = readId(r);
      const n = r.u8();
      if (n > MAX_PROVIDERS_PER_REPLY) throw new WireFormatError("too many providers");
      const providers: ProviderRecord[] = [];
      for (let i = 0; i < n; i++) providers.push(readProvider(r, key));
      res = { type: "providers", providers, contacts: readContacts(r) };
      break;
    }
    case MessageTypes.signal_reply:
      res = { type: "signal", payload: Buffer.from(r.varBytes(MAX_SIGNAL_BYTES)) };
      break;
    case MessageTypes.error:
      res = { type: "error", code: r.u8(), message: r.varBytes(MAX_ERROR_TEXT).toString("utf8") };
      break;
    default:
      throw new WireFormatError(`unknown response type ${type}`);
  }
  r.end();
  return res;
}


