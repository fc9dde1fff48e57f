// Where a node keeps its secrets (its identity seed, team keys), encrypted at rest: in the OS
// keychain (the Secret Service on Linux, through @napi-rs/keyring) or in one passphrase-protected
// file in the data dir (scrypt, then AES-256-GCM with the file's header as associated data).
//
// Which one (openKeyStore):
//   1. a data dir that already has a key file keeps using it (it needs the passphrase);
//   2. a data dir whose keys went to the keychain keeps using the keychain;
//   3. a passphrase given (option, PEERSHARE_PASSPHRASE, or the file named by
//      PEERSHARE_PASSPHRASE_FILE) → the key file;
//   4. an OS keychain that answers within ~2 s → the keychain;
//   5. otherwise a KeyStoreError says what to do.
//
// Key file format, version 1 (all integers big-endian):
//   "PSKEYS" | version (1) | kdf (1 = scrypt) | log2 N | r | p | salt (16) | aead (1 = AES-256-GCM)
//   | nonce (12) | body length (u32) | body (ciphertext) | tag (16)
// The first 44 bytes (everything up to the body) are the AAD. The plaintext is
//   count (u16) | count × (name length (u8) | name (UTF-8) | secret length (u32) | secret).

import { createCipheriv, createDecipheriv, createHash, randomBytes, scrypt } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../util/fs-atomic";

export type KeyStoreKind = "keychain" | "passphrase-file";

export interface KeyStore {
  readonly kind: KeyStoreKind;
  /** Where the secrets live, for `peershare id` (e.g. "Secret Service (service peershare)" or the file path). */
  readonly location: string;
  get(name: string): Promise<Buffer | null>;
  set(name: string, secret: Buffer): Promise<void>;
  delete(name: string): Promise<void>;
}

export interface OpenKeyStoreOptions {
  passphrase?: string;
  keychain?: "auto" | "never";
  log?: (line: string) => void;
}

/** A problem with the key store, worded for the user (the CLI prints the message as it is). */
export class KeyStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyStoreError";
  }
}

export const KEY_FILE = "keys.enc";
/** Present in a data dir whose secrets are in the OS keychain (names the entries; holds no secret). */
export const KEYCHAIN_MARKER = "keystore.json";
export const KEYCHAIN_SERVICE = "peershare";
const KEYCHAIN_MODULE = "@napi-rs/keyring";
const KEYCHAIN_PROBE_MS = 2000;

const MAGIC = Buffer.from("PSKEYS", "latin1");
const VERSION = 1;
const KDF_SCRYPT = 1;
const AEAD_AES_256_GCM = 1;
const SALT_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = MAGIC.length + 1 + 1 + 3 + SALT_BYTES + 1 + NONCE_BYTES + 4; // 44
/** scrypt cost for new files: N = 2^15, r = 8, p = 1 (32 MiB; ~0.3 s on the machines measured). */
export const SCRYPT_DEFAULTS = { log2N: 15, r: 8, p: 1 } as const;
const MAX_SECRET_BYTES = 1 << 20;
const MAX_NAME_BYTES = 255;
const MAX_ENTRIES = 0xffff;

interface ScryptParams {
  log2N: number;
  r: number;
  p: number;
}

function checkName(name: string): Buffer {
  const bytes = Buffer.from(name, "utf8");
  if (bytes.length === 0 || bytes.length > MAX_NAME_BYTES) throw new KeyStoreError(`a key name must be 1 to ${MAX_NAME_BYTES} bytes long`);
  return bytes;
}

function checkSecret(secret: Buffer): void {
  if (!Buffer.isBuffer(secret) && !((secret as unknown) instanceof Uint8Array)) throw new KeyStoreError("a secret must be a Buffer");
  if (secret.length > MAX_SECRET_BYTES) throw new KeyStoreError(`a secret may be at most ${MAX_SECRET_BYTES} bytes long`);
}

function deriveKey(passphrase: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.log2N;
  return new Promise((resolve, reject) =>
    scrypt(passphrase.normalize("NFC"), salt, 32, { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + (1 << 20) }, (err, key) => (err ? reject(err) : resolve(key))),
  );
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

interface ParsedFile {
  params: ScryptParams;
  salt: Buffer;
  header: Buffer;
  nonce: Buffer;
  body: Buffer;
  tag: Buffer;
}

function parseKeyFile(file: string, data: Buffer): ParsedFile {
  const damaged = (why: string) => new KeyStoreError(`${file} is damaged (${why}); restore it from a backup, or move it away to start with new keys (this node would get a new ID)`);
  if (data.length < MAGIC.length || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    if (data.length < MAGIC.length && MAGIC.subarray(0, data.length).equals(data)) throw damaged("it is truncated");
    throw new KeyStoreError(`${file} is not a peershare key file`);
  }
  if (data.length < HEADER_BYTES) throw damaged("it is truncated");
  let at = MAGIC.length;
  const version = data.readUInt8(at++);
  if (version !== VERSION) throw new KeyStoreError(`${file} is a version ${version} key file, which this peershare (${VERSION}) cannot read; use a newer peershare`);
  const kdf = data.readUInt8(at++);
  const params = { log2N: data.readUInt8(at), r: data.readUInt8(at + 1), p: data.readUInt8(at + 2) };
  at += 3;
  if (kdf !== KDF_SCRYPT || params.log2N < 10 || params.log2N > 22 || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16) {
    throw damaged("unknown key derivation parameters");
  }
  const salt = data.subarray(at, at + SALT_BYTES);
  at += SALT_BYTES;
  const aead = data.readUInt8(at++);
  if (aead !== AEAD_AES_256_GCM) throw damaged("unknown cipher");
  const nonce = data.subarray(at, at + NONCE_BYTES);
  at += NONCE_BYTES;
  const bodyLength = data.readUInt32BE(at);
  at += 4;
  const expected = HEADER_BYTES + bodyLength + TAG_BYTES;
  if (data.length < expected) throw damaged("it is truncated");
  if (data.length > expected) throw damaged("it has bytes past its end");
  return { params, salt, header: data.subarray(0, HEADER_BYTES), nonce, body: data.subarray(at, at + bodyLength), tag: data.subarray(at + bodyLength) };
}

/** Secrets in one passphrase-protected file; every change rewrites it atomically (temp + fsync + rename). */
class PassphraseFileStore implements KeyStore {
  readonly kind = "passphrase-file" as const;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly location: string,
    private readonly passphrase: string,
    /** The key of the salt and parameters in use (kept so reads and writes cost no scrypt). */
    private current: { salt: Buffer; params: ScryptParams; key: Buffer },
  ) {}

  static async open(file: string, passphrase: string): Promise<PassphraseFileStore> {
    const data = readIfExists(file);
    if (data) {
      const parsed = parseKeyFile(file, data);
      const key = await deriveKey(passphrase, parsed.salt, parsed.params);
      const store = new PassphraseFileStore(file, passphrase, { salt: Buffer.from(parsed.salt), params: parsed.params, key });
      store.decrypt(parsed, key); // checks the passphrase now, not at first use
      return store;
    }
    const salt = randomBytes(SALT_BYTES);
    const params = { ...SCRYPT_DEFAULTS };
    return new PassphraseFileStore(file, passphrase, { salt, params, key: await deriveKey(passphrase, salt, params) });
  }

  async get(name: string): Promise<Buffer | null> {
    checkName(name);
    await this.queue.catch(() => undefined);
    const secret = (await this.load()).get(name);
    return secret ? Buffer.from(secret) : null;
  }

  async set(name: string, secret: Buffer): Promise<void> {
    checkName(name);
    checkSecret(secret);
    const copy = Buffer.from(secret);
    return this.change((entries) => {
      if (!entries.has(name) && entries.size >= MAX_ENTRIES) throw new KeyStoreError(`${this.location} holds the most keys it can (${MAX_ENTRIES})`);
      entries.set(name, copy);
      return true;
    });
  }

  async delete(name: string): Promise<void> {
    checkName(name);
    return this.change((entries) => entries.delete(name));
  }

  /** Runs changes one at a time: read the file as it is now, change, write it back. */
  private change(edit: (entries: Map<string, Buffer>) => boolean): Promise<void> {
    const run = this.queue.catch(() => undefined).then(async () => {
      const entries = await this.load();
      if (edit(entries)) this.write(entries);
    });
    this.queue = run;
    return run;
  }

  private async load(): Promise<Map<string, Buffer>> {
    const data = readIfExists(this.location);
    if (!data) return new Map();
    const parsed = parseKeyFile(this.location, data);
    if (!parsed.salt.equals(this.current.salt) || parsed.params.log2N !== this.current.params.log2N || parsed.params.r !== this.current.params.r || parsed.params.p !== this.current.params.p) {
      // rewritten by another process with a new salt: derive again
      this.current = { salt: Buffer.from(parsed.salt), params: parsed.params, key: await deriveKey(this.passphrase, parsed.salt, parsed.params) };
    }
    return this.decrypt(parsed, this.current.key);
  }

  private decrypt(parsed: ParsedFile, key: Buffer): Map<string, Buffer> {
    let plain: Buffer;
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, parsed.nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(parsed.header);
      decipher.setAuthTag(parsed.tag);
      plain = Buffer.concat([decipher.update(parsed.body), decipher.final()]);
    } catch {
      throw new KeyStoreError(`wrong passphrase for ${this.location} (or the file was altered); check PEERSHARE_PASSPHRASE or PEERSHARE_PASSPHRASE_FILE`);
    }
    const entries = decodeEntries(plain);
    plain.fill(0);
    if (!entries) throw new KeyStoreError(`${this.location} is damaged (its contents do not parse); restore it from a backup`);
    return entries;
  }

  private write(entries: Map<string, Buffer>): void {
    const { salt, params, key } = this.current;
    const plain = encodeEntries(entries);
    const nonce = randomBytes(NONCE_BYTES);
    const header = Buffer.alloc(HEADER_BYTES);
    let at = MAGIC.copy(header, 0);
    at = header.writeUInt8(VERSION, at);
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
    plain.fill(0);
    writeFileAtomic(this.location, Buffer.concat([header, body, cipher.getAuthTag()]), 0o600);
  }
}

function readIfExists(file: string): Buffer | null {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new KeyStoreError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

// ---- OS keychain -------------------------------------------------------------------------------

/** The part of @napi-rs/keyring used here. */
interface KeyringEntry {
  getSecret(signal?: AbortSignal): Promise<number[] | Uint8Array | null>;
  setSecret(secret: Uint8Array, signal?: AbortSignal): Promise<void>;
  deleteCredential(signal?: AbortSignal): Promise<boolean>;
}
interface KeyringModule {
  AsyncEntry: new (service: string, account: string, options?: { linux?: { store?: "secret-service" | "keyutils" } }) => KeyringEntry;
}

/** Loads the keychain module if it is installed (the VS Code bundle ships without it). */
function loadKeyring(): KeyringModule | string {
  try {
    // a computed name keeps bundlers from inlining the native module
    const name = KEYCHAIN_MODULE;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(name) as KeyringModule;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND") return `the keychain module ${KEYCHAIN_MODULE} is not installed`;
    return `the keychain module ${KEYCHAIN_MODULE} does not load: ${firstLine(err)}`;
  }
}

function keychainLabel(): string {
  switch (process.platform) {
    case "darwin":
      return `macOS Keychain (service ${KEYCHAIN_SERVICE})`;
    case "win32":
      return `Windows Credential Manager (service ${KEYCHAIN_SERVICE})`;
    default:
      return `Secret Service (service ${KEYCHAIN_SERVICE})`;
  }
}

/** The account prefix of a data dir's entries: two nodes on one machine never share keys. */
export function keychainAccountPrefix(dataDir: string): string {
  return createHash("sha256").update(path.resolve(dataDir)).digest("hex").slice(0, 16);
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0];
}

class KeychainStore implements KeyStore {
  readonly kind = "keychain" as const;
  readonly location = keychainLabel();
  private readonly entries = new Map<string, KeyringEntry>();

  constructor(
    private readonly keyring: KeyringModule,
    private readonly dataDir: string,
  ) {}

  private entry(name: string): KeyringEntry {
    checkName(name);
    let e = this.entries.get(name);
    if (!e) {
      // On Linux only the Secret Service: keyring's fallback (the kernel keyring) is not kept across reboots.
      e = new this.keyring.AsyncEntry(KEYCHAIN_SERVICE, `${keychainAccountPrefix(this.dataDir)}/${name}`, { linux: { store: "secret-service" } });
      this.entries.set(name, e);
    }
    return e;
  }

  /** Answers within `ms`, or says why not. */
  async probe(ms: number): Promise<string | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer within ${ms} ms`), ms);
    });
    try {
      const answer = (async () => {
        await this.entry("probe").getSecret(AbortSignal.timeout(ms));
        return null;
      })().catch((err: unknown) => firstLine(err));
      return await Promise.race([answer, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async get(name: string): Promise<Buffer | null> {
    try {
      const secret = await this.entry(name).getSecret();
      return secret ? Buffer.from(secret) : null;
    } catch (err) {
      if (err instanceof KeyStoreError) throw err;
      throw new KeyStoreError(`the OS keychain (${this.location}) could not read "${name}": ${firstLine(err)}; unlock the keyring and start again`);
    }
  }

  async set(name: string, secret: Buffer): Promise<void> {
    checkSecret(secret);
    try {
      await this.entry(name).setSecret(Uint8Array.from(secret));
    } catch (err) {
      if (err instanceof KeyStoreError) throw err;
      throw new KeyStoreError(
        `the OS keychain (${this.location}) could not store "${name}": ${firstLine(err)}; unlock the keyring, or set PEERSHARE_PASSPHRASE or PEERSHARE_PASSPHRASE_FILE to keep keys in a passphrase-protected file instead`,
      );
    }
    writeMarker(this.dataDir, this.location);
  }

  async delete(name: string): Promise<void> {
    try {
      await this.entry(name).deleteCredential();
    } catch (err) {
      if (err instanceof KeyStoreError) throw err;
      throw new KeyStoreError(`the OS keychain (${this.location}) could not delete "${name}": ${firstLine(err)}`);
    }
  }
}

function writeMarker(dataDir: string, location: string): void {
  const file = path.join(dataDir, KEYCHAIN_MARKER);
  if (fs.existsSync(file)) return;
  const marker = { kind: "keychain", location, service: KEYCHAIN_SERVICE, accountPrefix: `${keychainAccountPrefix(dataDir)}/` };
  writeFileAtomic(file, JSON.stringify(marker, null, 2) + "\n", 0o600);
}

// ---- choosing ----------------------------------------------------------------------------------

/** The passphrase from the options or the environment, or undefined when none is given. */
function givenPassphrase(opts: OpenKeyStoreOptions): string | undefined {
  if (opts.passphrase !== undefined) {
    if (opts.passphrase === "") throw new KeyStoreError("the passphrase is empty; choose one that is not");
    return opts.passphrase;
  }
  const env = process.env.PEERSHARE_PASSPHRASE;
  if (env !== undefined && env !== "") return env;
  const file = process.env.PEERSHARE_PASSPHRASE_FILE;
  if (file) {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (err) {
      throw new KeyStoreError(`cannot read the passphrase file named by PEERSHARE_PASSPHRASE_FILE (${file}): ${firstLine(err)}`);
    }
    const passphrase = text.replace(/\r?\n$/, "");
    if (passphrase === "") throw new KeyStoreError(`the passphrase file ${file} (PEERSHARE_PASSPHRASE_FILE) is empty`);
    return passphrase;
  }
  return undefined;
}

/** Opens the place where this data dir's secrets are kept (see the top of this file for the order). */
export async function openKeyStore(dataDir: string, opts: OpenKeyStoreOptions = {}): Promise<KeyStore> {
  const log = opts.log ?? (() => undefined);
  const dir = path.resolve(dataDir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyFile = path.join(dir, KEY_FILE);
  const passphrase = givenPassphrase(opts);

  if (fs.existsSync(keyFile)) {
    if (passphrase === undefined) {
      throw new KeyStoreError(`this node's keys are in ${keyFile}, protected by a passphrase: set PEERSHARE_PASSPHRASE (or PEERSHARE_PASSPHRASE_FILE, a file holding it)`);
    }
    const store = await PassphraseFileStore.open(keyFile, passphrase);
    log(`keys: in ${keyFile} (passphrase-protected)`);
    return store;
  }

  const inKeychain = fs.existsSync(path.join(dir, KEYCHAIN_MARKER));
  if (inKeychain) {
    const where = keychainLabel();
    if (opts.keychain === "never") throw new KeyStoreError(`this node's keys are in the OS keychain (${where}), which this program may not use`);
    const keyring = loadKeyring();
    if (typeof keyring === "string") throw new KeyStoreError(`this node's keys are in the OS keychain (${where}), but ${keyring}`);
    const store = new KeychainStore(keyring, dir);
    const problem = await store.probe(KEYCHAIN_PROBE_MS);
    if (problem) {
      throw new KeyStoreError(`this node's keys are in the OS keychain (${where}), which does not answer (${problem}): start the node in the desktop session whose keyring holds them, with the keyring unlocked`);
    }
    if (passphrase !== undefined) log(`keys: a passphrase was given, but this data dir's keys are in the OS keychain; using it`);
    log(`keys: in the OS keychain, ${where}`);
    return store;
  }

  if (passphrase !== undefined) {
    const store = await PassphraseFileStore.open(keyFile, passphrase);
    log(`keys: in ${keyFile} (passphrase-protected)`);
    return store;
  }

  let why: string;
  if (opts.keychain === "never") {
    why = "the OS keychain is not to be used here";
  } else {
    const keyring = loadKeyring();
    if (typeof keyring === "string") {
      why = keyring;
    } else {
      const store = new KeychainStore(keyring, dir);
      const problem = await store.probe(KEYCHAIN_PROBE_MS);
      if (!problem) {
        log(`keys: in the OS keychain, ${store.location}`);
        return store;
      }
      const noBus = (process.platform === "linux" || process.platform === "freebsd") && !process.env.DBUS_SESSION_BUS_ADDRESS;
      why = noBus ? "there is no D-Bus session: DBUS_SESSION_BUS_ADDRESS is not set" : problem;
    }
  }
  throw new KeyStoreError(
    `no safe place for this node's keys: no passphrase was given, and no OS keychain answers (${why}). ` +
      `Set PEERSHARE_PASSPHRASE (or PEERSHARE_PASSPHRASE_FILE, a file holding it) to keep them in a passphrase-protected file in ${dir}, ` +
      `or start the node in a desktop session with an unlocked keyring`,
  );
}
