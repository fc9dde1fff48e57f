// The key file, DATA_DIR/keys.enc: every secret of a node (its identity seed, team keys) in one
// file, in one of two forms (all integers big-endian):
//
//   version 1, protected by a passphrase:
//     "PSKEYS" | 1 | kdf (1 = scrypt) | log2 N | r | p | salt (16) | aead (1 = AES-256-GCM)
//     | nonce (12) | body length (u32) | body (ciphertext) | tag (16)
//     The first 44 bytes (everything up to the body) are the AAD.
//   version 2, no passphrase (the file's mode, 0600, protects it, as an ssh key without one):
//     "PSKEYS" | 2 | body length (u32) | body (plaintext) | check (16: SHA-256 of all before it, cut)
//
// The body is count (u16) | count × (name length (u8) | name (UTF-8) | secret length (u32) | secret).
// A node of a release that reads only version 1 refuses a version 2 file with a message naming
// both versions, rather than taking it for a damaged one.

import { createCipheriv, createDecipheriv, createHash, randomBytes, scrypt } from "node:crypto";
import * as fs from "node:fs";
import { writeFileAtomic } from "../util/fs-atomic";

/** A problem with the key store, worded for the user (the CLI prints the message as it is). */
export class KeyStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyStoreError";
  }
}

const MAGIC = Buffer.from("PSKEYS", "latin1");
const PROTECTED = 1;
const UNPROTECTED = 2;
const KDF_SCRYPT = 1;
const AEAD_AES_256_GCM = 1;
const SALT_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const CHECK_BYTES = 16;
const PROTECTED_HEADER_BYTES = MAGIC.length + 1 + 1 + 3 + SALT_BYTES + 1 + NONCE_BYTES + 4; // 44
const UNPROTECTED_HEADER_BYTES = MAGIC.length + 1 + 4; // 11
/** scrypt cost for new files: N = 2^15, r = 8, p = 1 (32 MiB; ~0.3 s on the machines measured). */
export const SCRYPT_DEFAULTS = { log2N: 15, r: 8, p: 1 } as const;

export interface ScryptParams {
  log2N: number;
  r: number;
  p: number;
}

/** How a key file is sealed: under a key derived from a passphrase (kept so writes cost no scrypt), or not at all. */
export type KeyFileSeal = { kind: "passphrase"; salt: Buffer; params: ScryptParams; key: Buffer } | { kind: "none" };

type ParsedKeyFile =
  | { kind: "passphrase"; params: ScryptParams; salt: Buffer; header: Buffer; nonce: Buffer; body: Buffer; tag: Buffer }
  | { kind: "none"; body: Buffer };

export function deriveKey(passphrase: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.log2N;
  return new Promise((resolve, reject) =>
    scrypt(passphrase.normalize("NFC"), salt, 32, { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + (1 << 20) }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** A new passphrase seal: a fresh salt, the default cost. */
export async function passphraseSeal(passphrase: string): Promise<KeyFileSeal> {
  const salt = randomBytes(SALT_BYTES);
  const params = { ...SCRYPT_DEFAULTS };
  return { kind: "passphrase", salt, params, key: await deriveKey(passphrase, salt, params) };
}

function encodeEntries(entries: Map<string, Buffer>): Buffer {
  const parts: Buffer[] = [];
  const count = Buffer.alloc(2);
  count.writeUInt16BE(entries.size);
  parts.push(count);
  for (const [name, secret] of entries) {
    const n = Buffer.from(name, "utf8");
    const head = Buffer.alloc(1 + n.length + 4);
    head.writeUInt8(n.length, 0);
    n.copy(head, 1);
    head.writeUInt32BE(secret.length, 1 + n.length);
    parts.push(head, secret);
  }
  return Buffer.concat(parts);
}

function decodeEntries(plain: Buffer): Map<string, Buffer> | null {
  const entries = new Map<string, Buffer>();
  if (plain.length < 2) return null;
  const count = plain.readUInt16BE(0);
  let at = 2;
  for (let i = 0; i < count; i++) {
    if (at + 1 > plain.length) return null;
    const nameLength = plain.readUInt8(at);
    at += 1;
    if (at + nameLength + 4 > plain.length) return null;
    const name = plain.subarray(at, at + nameLength).toString("utf8");
    at += nameLength;
    const length = plain.readUInt32BE(at);
    at += 4;
    if (at + length > plain.length) return null;
    entries.set(name, Buffer.from(plain.subarray(at, at + length)));
    at += length;
  }
  return at === plain.length ? entries : null;
}

const checkOf = (bytes: Buffer) => createHash("sha256").update(bytes).digest().subarray(0, CHECK_BYTES);

function damaged(file: string, why: string): KeyStoreError {
  return new KeyStoreError(`${file} is damaged (${why}); restore it from a backup, or move it away to start with new keys (this node would get a new ID)`);
}

/** Splits a key file into its parts, checking its framing (not yet its passphrase). */
function parseKeyFile(file: string, data: Buffer): ParsedKeyFile {
  if (data.length < MAGIC.length || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    if (data.length < MAGIC.length && MAGIC.subarray(0, data.length).equals(data)) throw damaged(file, "it is truncated");
    throw new KeyStoreError(`${file} is not a peershare key file`);
  }
  if (data.length <= MAGIC.length) throw damaged(file, "it is truncated");
  const version = data.readUInt8(MAGIC.length);
  if (version === UNPROTECTED) return parseUnprotected(file, data);
  if (version !== PROTECTED) throw new KeyStoreError(`${file} is a version ${version} key file, which this peershare (versions ${PROTECTED} and ${UNPROTECTED}) cannot read; use a newer peershare`);
  if (data.length < PROTECTED_HEADER_BYTES) throw damaged(file, "it is truncated");
  let at = MAGIC.length + 1;
  const kdf = data.readUInt8(at++);
  const params = { log2N: data.readUInt8(at), r: data.readUInt8(at + 1), p: data.readUInt8(at + 2) };
  at += 3;
  if (kdf !== KDF_SCRYPT || params.log2N < 10 || params.log2N > 22 || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16) {
    throw damaged(file, "unknown key derivation parameters");
  }
  const salt = data.subarray(at, at + SALT_BYTES);
  at += SALT_BYTES;
  const aead = data.readUInt8(at++);
  if (aead !== AEAD_AES_256_GCM) throw damaged(file, "unknown cipher");
  const nonce = data.subarray(at, at + NONCE_BYTES);
  at += NONCE_BYTES;
  const bodyLength = data.readUInt32BE(at);
  at += 4;
  checkLength(file, data, PROTECTED_HEADER_BYTES + bodyLength + TAG_BYTES);
  return { kind: "passphrase", params, salt, header: data.subarray(0, PROTECTED_HEADER_BYTES), nonce, body: data.subarray(at, at + bodyLength), tag: data.subarray(at + bodyLength) };
}

function parseUnprotected(file: string, data: Buffer): ParsedKeyFile {
  if (data.length < UNPROTECTED_HEADER_BYTES) throw damaged(file, "it is truncated");
  const bodyLength = data.readUInt32BE(MAGIC.length + 1);
  const end = UNPROTECTED_HEADER_BYTES + bodyLength;
  checkLength(file, data, end + CHECK_BYTES);
  if (!checkOf(data.subarray(0, end)).equals(data.subarray(end))) throw damaged(file, "its check sum does not match");
  return { kind: "none", body: data.subarray(UNPROTECTED_HEADER_BYTES, end) };
}

function checkLength(file: string, data: Buffer, expected: number): void {
  if (data.length < expected) throw damaged(file, "it is truncated");
  if (data.length > expected) throw damaged(file, "it has bytes past its end");
}

export function readIfExists(file: string): Buffer | null {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new KeyStoreError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Whether the key file holds its secrets under a passphrase (null: there is no key file). */
export function keyFileProtection(file: string): "passphrase" | "none" | null {
  const data = readIfExists(file);
  return data ? parseKeyFile(file, data).kind : null;
}

/**
 * A key file without a passphrase must be readable by its owner alone (ssh refuses such a key too).
 * Not checked on Windows, whose file modes do not say who may read.
 */
function checkOwnerOnly(file: string): void {
  if (process.platform === "win32") return;
  const mode = fs.statSync(file).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  throw new KeyStoreError(
    `${file} holds this node's keys without a passphrase, and users other than its owner may read it (mode ${mode.toString(8).padStart(4, "0")}): ` +
      `run chmod 600 ${file}, or give it a passphrase with \`peershare keys protect\``,
  );
}

/**
 * Reads a key file's secrets. A protected file needs its passphrase (a seal already derived for the
 * file's salt and parameters is reused; otherwise the key is derived again); the seal that fits the
 * file comes back with the secrets, so the caller can write the file the same way.
 */
export async function readKeyFile(file: string, data: Buffer, unlock: { passphrase?: string; seal?: KeyFileSeal }): Promise<{ entries: Map<string, Buffer>; seal: KeyFileSeal }> {
  const parsed = parseKeyFile(file, data);
  if (parsed.kind === "none") {
    checkOwnerOnly(file);
    return { entries: decoded(file, parsed.body), seal: { kind: "none" } };
  }
  const known = unlock.seal?.kind === "passphrase" ? unlock.seal : null;
  const fits = known && known.salt.equals(parsed.salt) && known.params.log2N === parsed.params.log2N && known.params.r === parsed.params.r && known.params.p === parsed.params.p;
  let seal: KeyFileSeal;
  if (fits) seal = known;
  else if (unlock.passphrase !== undefined) seal = { kind: "passphrase", salt: Buffer.from(parsed.salt), params: parsed.params, key: await deriveKey(unlock.passphrase, parsed.salt, parsed.params) };
  else throw new KeyStoreError(`this node's keys are in ${file}, protected by a passphrase: set PEERSHARE_PASSPHRASE (or PEERSHARE_PASSPHRASE_FILE, a file holding it)`);
  let plain: Buffer;
  try {
    const decipher = createDecipheriv("aes-256-gcm", seal.key, parsed.nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(parsed.header);
    decipher.setAuthTag(parsed.tag);
    plain = Buffer.concat([decipher.update(parsed.body), decipher.final()]);
  } catch {
    throw new KeyStoreError(`wrong passphrase for ${file} (or the file was altered); check PEERSHARE_PASSPHRASE or PEERSHARE_PASSPHRASE_FILE`);
  }
  const entries = decoded(file, plain);
  plain.fill(0);
  return { entries, seal };
}

function decoded(file: string, body: Buffer): Map<string, Buffer> {
  const entries = decodeEntries(body);
  if (!entries) throw new KeyStoreError(`${file} is damaged (its contents do not parse); restore it from a backup`);
  return entries;
}

/** Writes the secrets to the key file under `seal`, atomically (temp + fsync + rename), mode 0600. */
export function writeKeyFile(file: string, entries: Map<string, Buffer>, seal: KeyFileSeal): void {
  const plain = encodeEntries(entries);
  const bytes = seal.kind === "none" ? unprotectedBytes(plain) : protectedBytes(plain, seal);
  plain.fill(0);
  writeFileAtomic(file, bytes, 0o600);
}

function unprotectedBytes(plain: Buffer): Buffer {
  const header = Buffer.alloc(UNPROTECTED_HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt8(UNPROTECTED, MAGIC.length);
  header.writeUInt32BE(plain.length, MAGIC.length + 1);
  const framed = Buffer.concat([header, plain]);
  return Buffer.concat([framed, checkOf(framed)]);
}

function protectedBytes(plain: Buffer, seal: Extract<KeyFileSeal, { kind: "passphrase" }>): Buffer {
  const { salt, params, key } = seal;
  const nonce = randomBytes(NONCE_BYTES);
  const header = Buffer.alloc(PROTECTED_HEADER_BYTES);
  let at = MAGIC.copy(header, 0);
  at = header.writeUInt8(PROTECTED, at);
  at = header.writeUInt8(KDF_SCRYPT, at);
  at = header.writeUInt8(params.log2N, at);
  at = header.writeUInt8(params.r, at);
  at = header.writeUInt8(params.p, at);
  at += salt.copy(header, at);
  at = header.writeUInt8(AEAD_AES_256_GCM, at);
  at += nonce.copy(header, at);
  header.writeUInt32BE(plain.length, at);
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([header, body, cipher.getAuthTag()]);
}
