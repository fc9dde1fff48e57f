// Hostile DHT datagrams built with the real codecs (envelope.ts, wire.ts), so that mutations get past
// the magic and the MAC and reach the payload decoders and the DHT's handlers, not just the first
// check. Every case is drawn from a seeded Prng.
//
// Safety: a fuzzed message that still decodes could name addresses the target would then send to.
// Every message whose payload decodes is checked (isSafe) to name only 127.0.0.1 at ports the fuzzer
// owns (or IPv6 loopback, which an IPv4 socket cannot send to at all); anything else is regenerated.

import { createPrivateKey } from "node:crypto";
import { Identity } from "../../node-host/security/identity";
import { PairKeys } from "../../node-host/security/pair-keys";
import { Contact, ProviderRecord, Request, Response, ValueRecord } from "../../node-host/dht/messages";
import { nodeIdFromPublicKey } from "../../node-host/dht/id";
import { createProviderRecord, createValueRecord } from "../../node-host/dht/records";
import { MAX_PAYLOAD_BYTES, openEnvelope, sealEnvelope } from "../../node-host/transport/envelope";
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, MessageTypes } from "../../node-host/transport/wire";
import { decodeSignal, encodeSignal } from "../../node-host/transport/webrtc-signal-codec";
import { mutate, mutateMany, writeInteresting } from "./mutators";
import { Prng } from "./prng";

const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** An Ed25519 identity drawn from the Prng (reproducible, unlike Identity.generate()). */
export function seededIdentity(rng: Prng): Identity {
  return new Identity(createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, rng.bytes(32)]), format: "der", type: "pkcs8" }));
}

// Byte offsets in an envelope (see envelope.ts).
export const ENV = { magic: 0, version: 2, auth: 3, type: 4, txid: 5, timestamp: 13, publicKey: 21, payloadLength: 53, payload: 55 } as const;
const FRESHNESS_MS = 30_000;

export type DatagramCategory =
  | "random"
  | "randomAfterMagic"
  | "envelopeMutation"
  | "payloadMutation"
  | "validRequest"
  | "stale"
  | "replay"
  | "wrongKey"
  | "signatureMutation"
  | "unsolicitedResponse";

export const CATEGORY_WEIGHTS: Record<DatagramCategory, number> = {
  random: 15,
  randomAfterMagic: 8,
  envelopeMutation: 24,
  payloadMutation: 22,
  validRequest: 10,
  stale: 4,
  replay: 4,
  wrongKey: 5,
  signatureMutation: 3,
  unsolicitedResponse: 5,
};

/** What the target should do with a datagram that reached it. */
export type Expected = "drop" | "handle";

export interface FuzzDatagram {
  bytes: Buffer;
  category: DatagramCategory;
  expected: Expected;
}

/** One fuzzing endpoint: a UDP socket with its own identity (the target learns it as a contact). */
export interface Agent {
  identity: Identity;
  pairKeys: PairKeys;
  port: number;
}

export function makeAgent(identity: Identity, port: number): Agent {
  return { identity, pairKeys: new PairKeys(identity.seed(), identity.publicKey), port };
}

const REQUEST_TYPES = ["ping", "find_node", "find_value", "store", "add_provider", "get_providers", "signal", "leave", "credentials"] as const;
const RESPONSE_TYPES = ["pong", "nodes", "value", "stored", "providers", "signal", "error"] as const;

export class DatagramFuzzer {
  /** Valid datagrams already sent, for replays. */
  private readonly sentValid: Buffer[] = [];
  /** Random keys that name no node (contacts pointing at the sink socket). */
  private readonly strangers: Buffer[];
  private readonly allowedPorts: Set<number>;

  /** Draws for answers, which depend on what the target asks and when: kept apart so that the
   * sequence of datagrams sent is the same for a seed, whatever the timing. */
  private readonly answerRng: Prng;

  constructor(
    private rng: Prng,
    readonly agents: Agent[],
    /** The target's public key (MACs are made under the pair key with it). */
    private readonly target: Buffer,
    /** A socket of ours that swallows whatever reaches it: where fabricated contacts point. */
    private readonly sinkPort: number,
    private readonly now: () => number = Date.now,
  ) {
    this.answerRng = rng.fork();
    this.strangers = Array.from({ length: 64 }, () => seededIdentity(rng).publicKey);
    this.allowedPorts = new Set([sinkPort, ...agents.map((a) => a.port)]);
  }

  /** A datagram for `agent` to send to the target. */
  next(agent: Agent, category: DatagramCategory = this.rng.weighted(CATEGORY_WEIGHTS)): FuzzDatagram {
    // each datagram draws from its own stream: timestamps and tags differ from run to run, and a
    // retry they cause (a mutation that happened to change nothing) must not shift the cases after it
    const main = this.rng;
    this.rng = main.fork();
    try {
      for (let attempt = 0; attempt < 20; attempt++) {
        const d = this.make(agent, category);
        if (d) return d;
      }
      return { bytes: this.rng.bytes(this.rng.int(0, 64)), category: "random", expected: "drop" };
    } finally {
      this.rng = main;
    }
  }

  private make(agent: Agent, category: DatagramCategory): FuzzDatagram | null {
    const rng = this.rng;
    switch (category) {
      case "random":
        return { bytes: rng.bytes(rng.int(0, 1501)), category, expected: "drop" };
      case "randomAfterMagic": {
        const head = Buffer.from([0x50, 0x53, rng.chance(0.8) ? 1 : rng.int(0, 256), rng.chance(0.8) ? rng.int(0, 2) : rng.int(0, 256)]);
        return { bytes: Buffer.concat([head, rng.bytes(rng.int(0, 1200))]), category, expected: "drop" };
      }
      case "envelopeMutation": {
        const original = this.sealRequest(agent, this.randomRequest(agent), rng.chance(0.9));
        const bytes = this.mutateEnvelope(original);
        if (bytes.equals(original)) return null;
        return { bytes, category, expected: "drop" };
      }
      case "payloadMutation": {
        // a payload that may or may not decode, under a valid MAC: reaches decodeRequest and the handlers
        const response = rng.chance(0.15);
        let type: number;
        let payload: Buffer;
        if (response) {
          ({ type, payload } = encodeResponse(this.randomResponse(rng.pick(RESPONSE_TYPES)), MAX_PAYLOAD_BYTES));
        } else {
          ({ type, payload } = encodeRequest(this.randomRequest(agent)));
        }
        payload = mutateMany(rng, payload, 3, MAX_PAYLOAD_BYTES);
        if (rng.chance(0.1)) type = rng.int(0, 256);
        if (!this.isSafe(type, payload, agent)) return null;
        const bytes = this.seal(agent, type, payload, true);
        return { bytes, category, expected: this.decodes(type, payload, agent) && type < 0x80 ? "handle" : "drop" };
      }
      case "validRequest": {
        const req = this.randomRequest(agent);
        if (req.type === "signal" && !this.isSafe(MessageTypes.signal, encodeRequest(req).payload, agent)) return null;
        const bytes = this.sealRequest(agent, req, rng.chance(0.95));
        this.remember(bytes);
        return { bytes, category, expected: "handle" };
      }
      case "stale": {
        const { type, payload } = encodeRequest({ type: "ping" });
        const skew = rng.pick([FRESHNESS_MS + 1 + rng.int(0, 60_000), 3_600_000, 86_400_000 * 365 * 10]);
        const past = rng.chance(0.5);
        const ts = rng.chance(0.05) ? 0 : past ? Math.max(0, this.now() - skew) : this.now() + skew;
        return { bytes: sealEnvelope(agent.identity, type, rng.bytes(8), ts, payload, this.macKey(agent, true)), category, expected: "drop" };
      }
      case "replay": {
        if (this.sentValid.length === 0) return null;
        return { bytes: rng.pick(this.sentValid), category, expected: "drop" };
      }
      case "wrongKey": {
        const { type, payload } = encodeRequest(this.randomRequest(agent));
        const kind = rng.int(0, 4);
        if (kind === 0) {
          // MAC under this agent's pair key with the target, claiming another agent's key
          const other = rng.pick(this.agents.filter((a) => a !== agent));
          const bytes = sealEnvelope(agent.identity, type, rng.bytes(8), this.now(), payload, this.macKey(agent, true));
          other.identity.publicKey.copy(bytes, ENV.publicKey);
          return { bytes, category, expected: "drop" };
        }
        if (kind === 1) {
          // MAC under the pair key with some other node (not the target)
          const bytes = sealEnvelope(agent.identity, type, rng.bytes(8), this.now(), payload, agent.pairKeys.keyFor(rng.pick(this.strangers)));
          return { bytes, category, expected: "drop" };
        }
        // a public key that is no curve point, a low-order point, or the target's own key
        const bytes = sealEnvelope(agent.identity, type, rng.bytes(8), this.now(), payload, this.macKey(agent, true));
        const bogus = kind === 2 ? rng.pick([Buffer.alloc(32), Buffer.alloc(32, 0xff), Buffer.concat([Buffer.from([1]), Buffer.alloc(31)]), rng.bytes(32)]) : this.target;
        bogus.copy(bytes, ENV.publicKey);
        return { bytes, category, expected: "drop" };
      }
      case "signatureMutation": {
        // first-contact datagrams are Ed25519-signed; the target pays a verify for each that parses
        const original = this.sealRequest(agent, this.randomRequest(agent), false);
        const bytes = rng.chance(0.5) ? this.mutateEnvelope(original) : flipInTag(rng, original);
        if (bytes.equals(original)) return null;
        return { bytes, category, expected: "drop" };
      }
      case "unsolicitedResponse": {
        // a correctly MAC'd response nobody asked for (random txid)
        const res = this.randomResponse(rng.pick(RESPONSE_TYPES));
        const { type, payload } = encodeResponse(res, MAX_PAYLOAD_BYTES);
        if (!this.isSafe(type, payload, agent)) return null;
        return { bytes: this.seal(agent, type, payload, true), category, expected: "drop" };
      }
    }
  }

  /** A response to a request the target sent `agent` (possibly malformed, stale, duplicated...). */
  answer(agent: Agent, request: Buffer): { datagrams: Buffer[]; fromOtherAgent: boolean } | null {
    const sending = this.rng;
    this.rng = this.answerRng; // the helpers below draw from this.rng
    try {
      return this.makeAnswer(agent, request);
    } finally {
      this.rng = sending;
    }
  }

  private makeAnswer(agent: Agent, request: Buffer): { datagrams: Buffer[]; fromOtherAgent: boolean } | null {
    const rng = this.rng;
    let env;
    try {
      env = openEnvelope(request);
    } catch {
      return null;
    }
    if (env.type >= 0x80) return null;
    const peer = Buffer.from(env.publicKey);
    const key = agent.pairKeys.keyFor(peer);
    if (!key) return null;
    const txid = Buffer.from(env.txid);
    let req: Request;
    try {
      req = decodeRequest(env.type, env.payload, { id: nodeIdFromPublicKey(peer), publicKey: peer, host: "127.0.0.1", port: 1 });
    } catch {
      return null;
    }
    const proper = this.properResponse(req);
    const choice = rng.weighted({ valid: 35, mutatedPayload: 30, mutatedEnvelope: 8, duplicate: 5, otherAgent: 5, stale: 5, wrongType: 4, silent: 8 });
    if (choice === "silent") return { datagrams: [], fromOtherAgent: false };
    let { type, payload } = encodeResponse(proper, MAX_PAYLOAD_BYTES);
    if (choice === "mutatedPayload") payload = mutateMany(rng, payload, 3, MAX_PAYLOAD_BYTES);
    if (choice === "wrongType") type = rng.pick(Object.values(MessageTypes).filter((t) => t >= 0x80));
    if (!this.isSafe(type, payload, agent)) ({ type, payload } = encodeResponse({ type: "error", code: 1, message: "x" }, MAX_PAYLOAD_BYTES));
    const ts = choice === "stale" ? this.now() - FRESHNESS_MS - 1 - rng.int(0, 100_000) : this.now();
    let bytes = sealEnvelope(agent.identity, type, txid, ts, payload, key);
    if (choice === "mutatedEnvelope") bytes = this.mutateEnvelope(bytes);
    return { datagrams: choice === "duplicate" ? [bytes, bytes] : [bytes], fromOtherAgent: choice === "otherAgent" };
  }

  private properResponse(req: Request): Response {
    const rng = this.rng;
    switch (req.type) {
      case "ping":
      case "leave":
        return { type: "pong" };
      case "find_node":
        return { type: "nodes", contacts: this.contacts(rng.int(0, 21)) };
      case "find_value":
        return rng.chance(0.3) ? { type: "value", record: this.valueRecord(rng.pick(this.agents)) } : { type: "nodes", contacts: this.contacts(rng.int(0, 21)) };
      case "get_providers":
        return { type: "providers", providers: this.providers(rng.int(0, 5)), contacts: this.contacts(rng.int(0, 15)) };
      case "store":
      case "add_provider":
        return rng.chance(0.7) ? { type: "stored" } : { type: "error", code: rng.int(0, 256), message: "refused" };
      case "signal":
        return { type: "error", code: 4, message: "no" };
      case "credentials":
        return { type: "pong" };
    }
  }

  // ---- building blocks -------------------------------------------------------------

  private macKey(agent: Agent, mac: boolean): Buffer | null {
    return mac ? agent.pairKeys.keyFor(this.target) : null;
  }

  private seal(agent: Agent, type: number, payload: Buffer, mac: boolean): Buffer {
    return sealEnvelope(agent.identity, type, this.rng.bytes(8), this.now(), payload, this.macKey(agent, mac));
  }

  private sealRequest(agent: Agent, req: Request, mac: boolean): Buffer {
    const { type, payload } = encodeRequest(req);
    return this.seal(agent, type, payload, mac);
  }

  private remember(bytes: Buffer): void {
    if (this.sentValid.length < 512) this.sentValid.push(bytes);
    else this.sentValid[this.rng.int(0, 512)] = bytes;
  }

  /** Structure-aware and blind mutations of a sealed envelope (the tag no longer matches, or the parse fails). */
  private mutateEnvelope(original: Buffer): Buffer {
    const rng = this.rng;
    const b = Buffer.from(original);
    switch (rng.int(0, 10)) {
      case 0: // wrong payload length
        b.writeUInt16BE(rng.pick([0, 1, b.readUInt16BE(ENV.payloadLength) + 1, Math.max(0, b.readUInt16BE(ENV.payloadLength) - 1), 0xffff, rng.int(0, 0x10000)]), ENV.payloadLength);
        return b;
      case 1: // version, auth or type byte
        b[rng.pick([ENV.version, ENV.auth, ENV.type])] = rng.int(0, 256);
        return b;
      case 2: // swap txid and part of the timestamp
        return swapRanges(b, ENV.txid, ENV.timestamp, 8);
      case 3: // a timestamp beyond 2^53
        b.writeBigUInt64BE(BigInt(Number.MAX_SAFE_INTEGER) + 1n + BigInt(rng.int(0, 1 << 30)), ENV.timestamp);
        return b;
      case 4: // auth kind flipped: the tag length no longer matches
        b[ENV.auth] ^= 1;
        return b;
      case 5: // truncated inside header, payload or tag
        return b.subarray(0, rng.int(0, b.length));
      case 6: // extra bytes after the tag
        return Buffer.concat([b, rng.bytes(rng.int(1, 200))]);
      case 7:
        return writeInteresting(rng, b);
      case 8: // another envelope's tail grafted on
        return Buffer.concat([b.subarray(0, rng.int(ENV.payload, b.length)), rng.bytes(rng.int(0, 80))]);
      default:
        return mutate(rng, b);
    }
  }

  randomRequest(agent: Agent): Request {
    const rng = this.rng;
    switch (rng.pick(REQUEST_TYPES)) {
      case "ping":
        return { type: "ping" };
      case "leave":
        // rare: the target then forgets the agent until its next valid request
        return rng.chance(0.1) ? { type: "leave" } : { type: "ping" };
      case "find_node":
        return { type: "find_node", target: rng.bytes(32) };
      case "find_value":
        return { type: "find_value", key: rng.bytes(32) };
      case "get_providers":
        return { type: "get_providers", key: rng.bytes(32) };
      case "store":
        return { type: "store", record: this.valueRecord(agent) };
      case "add_provider": {
        const key = rng.bytes(32);
        const expires = this.expiry();
        const signature = rng.chance(0.05) ? createProviderRecord(agent.identity, this.contactOf(agent), key, expires).signature : rng.bytes(64);
        return { type: "add_provider", record: { key, provider: this.contactOf(agent), expires, signature } };
      }
      case "signal":
        return { type: "signal", payload: this.signalPayload() };
      case "credentials":
        // a team membership as shown before storing records: the target's policy parses it
        return { type: "credentials", membership: rng.bytes(rng.pick([0, 1, rng.int(0, 513), 512])) };
    }
  }

  randomResponse(type: (typeof RESPONSE_TYPES)[number]): Response {
    const rng = this.rng;
    switch (type) {
      case "pong":
      case "stored":
        return { type };
      case "nodes":
        return { type, contacts: this.contacts(rng.int(0, 30)) };
      case "value":
        return { type, record: this.valueRecord(rng.pick(this.agents)) };
      case "providers":
        return { type, providers: this.providers(rng.int(0, 5)), contacts: this.contacts(rng.int(0, 10)) };
      case "signal":
        return { type, payload: this.signalPayload() };
      case "error":
        return { type, code: rng.int(0, 256), message: rng.bytes(rng.int(0, 300)).toString("latin1") };
    }
  }

  private expiry(): number {
    const rng = this.rng;
    const now = this.now();
    return rng.pick([now + rng.int(1, 3_600_000), now - rng.int(1, 3_600_000), now + 49 * 3_600_000 + rng.int(0, 1e9), 0, Number.MAX_SAFE_INTEGER]);
  }

  private valueRecord(agent: Agent): ValueRecord {
    const rng = this.rng;
    const nameLength = rng.pick([0, 1, rng.int(1, 65), 64, 65]);
    let name = rng.bytes(nameLength).toString("base64").slice(0, nameLength);
    if (rng.chance(0.2)) name = "\u00e9".repeat(Math.ceil(nameLength / 2)); // multi-byte UTF-8
    const value = rng.bytes(rng.pick([0, rng.int(0, 801), 800, 801]));
    if (rng.chance(0.03) && name.length > 0 && Buffer.byteLength(name) <= 64 && value.length <= 800) {
      // a validly signed record: the target stores it (its store is bounded; this shows it)
      return createValueRecord(agent.identity, name, value, rng.int(0, 1e9), this.now() + rng.int(60_000, 3_600_000));
    }
    return { publisher: rng.chance(0.7) ? agent.identity.publicKey : rng.bytes(32), name, value, seq: rng.int(0, 2 ** 31), expires: this.expiry(), signature: rng.bytes(64) };
  }

  private contactOf(agent: Agent): Contact {
    return { id: agent.identity.id, publicKey: agent.identity.publicKey, host: "127.0.0.1", port: agent.port };
  }

  /** Contacts the target may safely talk to: our agents, strangers at the sink, IPv6 loopback. */
  private contacts(n: number): Contact[] {
    const rng = this.rng;
    const out: Contact[] = [];
    for (let i = 0; i < n; i++) {
      const kind = rng.int(0, 10);
      if (kind < 6) out.push(this.contactOf(rng.pick(this.agents)));
      else if (kind < 9) {
        const publicKey = rng.pick(this.strangers);
        out.push({ id: nodeIdFromPublicKey(publicKey), publicKey, host: "127.0.0.1", port: this.sinkPort });
      } else {
        const publicKey = rng.pick(this.strangers);
        out.push({ id: nodeIdFromPublicKey(publicKey), publicKey, host: "0:0:0:0:0:0:0:1", port: this.sinkPort });
      }
    }
    return out;
  }

  private providers(n: number): ProviderRecord[] {
    const rng = this.rng;
    const key = rng.bytes(32);
    return this.contacts(n).map((provider) => ({ key, provider, expires: this.expiry(), signature: rng.bytes(64) }));
  }

  /** Signalling payloads: garbage, or well-formed offers whose only candidate is our sink socket. */
  private signalPayload(): Buffer {
    const rng = this.rng;
    if (rng.chance(0.5)) return rng.bytes(rng.int(0, 1001));
    const offer = encodeSignal(
      {
        kind: rng.chance(0.8) ? "offer" : "answer",
        fingerprint: rng.bytes(32),
        setup: rng.pick(["actpass", "active", "passive"] as const),
        ufrag: rng.bytes(6).toString("hex"),
        pwd: rng.bytes(12).toString("hex"),
        candidates: [`1 1 udp ${rng.int(1, 2 ** 31)} 127.0.0.1 ${this.sinkPort} typ host`],
      },
      1000,
    );
    return rng.chance(0.5) ? mutate(rng, offer) : offer;
  }

  // ---- checks ------------------------------------------------------------------------

  private decodes(type: number, payload: Buffer, agent: Agent): boolean {
    try {
      if (type & 0x80) decodeResponse(type, payload);
      else decodeRequest(type, payload, this.contactOf(agent));
      return true;
    } catch {
      return false;
    }
  }

  /** True unless the message decodes and names an address outside this fuzzer's own sockets. */
  isSafe(type: number, payload: Buffer, agent: Agent): boolean {
    let msg: Request | Response;
    try {
      msg = type & 0x80 ? decodeResponse(type, payload) : decodeRequest(type, payload, this.contactOf(agent));
    } catch {
      return true;
    }
    const contactOk = (c: Contact) => (c.host === "127.0.0.1" || c.host === "0:0:0:0:0:0:0:1") && this.allowedPorts.has(c.port);
    switch (msg.type) {
      case "nodes":
        return msg.contacts.every(contactOk);
      case "providers":
        return msg.contacts.every(contactOk) && msg.providers.every((p) => contactOk(p.provider));
      case "signal":
        return this.signalIsSafe(msg.payload);
      default:
        return true;
    }
  }

  private signalIsSafe(payload: Buffer): boolean {
    for (const kind of ["offer", "answer"] as const) {
      let candidates: string[];
      try {
        candidates = decodeSignal(payload, kind).candidates;
      } catch {
        continue;
      }
      const ok = candidates.every((c) => {
        const f = c.split(" ");
        return f[4] === "127.0.0.1" && this.allowedPorts.has(Number(f[5]));
      });
      if (!ok) return false;
    }
    return true;
  }
}

function swapRanges(b: Buffer, i: number, j: number, n: number): Buffer {
  const x = Buffer.from(b.subarray(i, i + n));
  b.copy(b, i, j, j + n);
  x.copy(b, j);
  return b;
}

function flipInTag(rng: Prng, b: Buffer): Buffer {
  const out = Buffer.from(b);
  out[out.length - 1 - rng.int(0, 64)] ^= 1 << rng.int(0, 8);
  return out;
}
