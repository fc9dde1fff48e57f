// Signed records: values published under a key bound to the publisher's public key, and provider
// records. Every node that stores a record validates it first (signature, size, expiry).

import { Id, sha256 } from "./id";
import { Contact, ProviderRecord, ValueRecord } from "./messages";
import { Identity, SignatureVerifier } from "../security/identity";

export const MAX_NAME_BYTES = 64;
export const MAX_VALUE_BYTES = 800;
/** Longest lifetime a node accepts for a record it stores. */
export const MAX_RECORD_TTL_MS = 48 * 3600_000;
/** Clock skew tolerated between publisher and storer. */
const CLOCK_SKEW_MS = 5 * 60_000;

const VALUE_KEY_DOMAIN = "peershare/value-key/v1";
const VALUE_SIG_DOMAIN = Buffer.from("peershare/value/v1");
const PROVIDER_SIG_DOMAIN = Buffer.from("peershare/provider/v1");

/** The DHT key of the value a publisher stores under a name. */
export function valueKey(publisher: Buffer, name: string): Id {
  return sha256(VALUE_KEY_DOMAIN, publisher, Buffer.from(name, "utf8"));
}

function u64(n: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

function valueSigningBytes(r: Omit<ValueRecord, "signature">): Buffer {
  const key = valueKey(r.publisher, r.name);
  return Buffer.concat([VALUE_SIG_DOMAIN, key, u64(r.seq), u64(r.expires), r.value]);
}

function providerSigningBytes(key: Id, expires: number): Buffer {
  return Buffer.concat([PROVIDER_SIG_DOMAIN, key, u64(expires)]);
}

export function createValueRecord(identity: Identity, name: string, value: Buffer, seq: number, expires: number): ValueRecord {
  checkValueSizes(name, value);
  const unsigned = { publisher: identity.publicKey, name, value, seq, expires };
  return { ...unsigned, signature: identity.sign(valueSigningBytes(unsigned)) };
}

export function createProviderRecord(identity: Identity, self: Contact, key: Id, expires: number): ProviderRecord {
  return { key, provider: self, expires, signature: identity.sign(providerSigningBytes(key, expires)) };
}

export function checkValueSizes(name: string, value: Buffer): void {
  const nameBytes = Buffer.byteLength(name, "utf8");
  if (nameBytes === 0 || nameBytes > MAX_NAME_BYTES) throw new RangeError(`a name is 1 to ${MAX_NAME_BYTES} bytes`);
  if (value.length > MAX_VALUE_BYTES) throw new RangeError(`a value is at most ${MAX_VALUE_BYTES} bytes (this one is ${value.length})`);
}

function checkExpiry(expires: number, now: number): string | null {
  if (expires <= now) return "expired";
  if (expires > now + MAX_RECORD_TTL_MS + CLOCK_SKEW_MS) return "expiry too far in the future";
  return null;
}

/** Why a value record must be refused, or null when it is valid. */
export function validateValueRecord(r: ValueRecord, verifier: SignatureVerifier, now: number): string | null {
  try {
    checkValueSizes(r.name, r.value);
  } catch (err) {
    return (err as Error).message;
  }
  const expiry = checkExpiry(r.expires, now);
  if (expiry) return expiry;
  if (!verifier.verify(r.publisher, valueSigningBytes(r), r.signature)) return "bad signature";
  return null;
}

/**
 * Why a provider record in a reply is not worth using, or null. Unlike validateProviderRecord this
 * checks no signature: the node that stored the record checked it (and the sender of ADD_PROVIDER
 * is the provider, authenticated with its datagram), and the signature would protect a reader from
 * little. It does not cover the address, which the storing node fills in, so a lying node can
 * already point a reader anywhere; and every use of a provider (a TLS or WebRTC connection, a
 * HAS_OBJECTS request) proves the provider's key itself. Checking it cost an Ed25519 verification
 * per new record per lookup: a third of a whole lookup's CPU on loopback.
 */
export function providerRecordUsable(r: ProviderRecord, now: number): string | null {
  return checkExpiry(r.expires, now);
}

/**
 * Why a provider record sent to be stored (ADD_PROVIDER) must be refused, or null. Its signature is
 * checked here once and not remembered: it is never checked again (replies carry records unchecked,
 * see providerRecordUsable), and each announcement signs a new expiry, so remembering it only filled
 * the memo with every announcement of the last two minutes.
 */
export function validateProviderRecord(r: ProviderRecord, verifier: SignatureVerifier, now: number): string | null {
  const expiry = checkExpiry(r.expires, now);
  if (expiry) return expiry;
  if (!verifier.verify(r.provider.publicKey, providerSigningBytes(r.key, r.expires), r.signature, false)) return "bad signature";
  return null;
}
