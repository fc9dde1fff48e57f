// Where a node keeps its secrets (its identity seed, team keys): in the OS keychain (the Secret
// Service on Linux, through @napi-rs/keyring) or in one key file in the data dir (key-file.ts),
// under a passphrase or, where neither a passphrase nor a keychain is at hand, readable by its owner
// alone (mode 0600), as ssh, kubo and Syncthing keep theirs.
//
// Which one (openKeyStore):
//   1. a data dir that already has a key file keeps using it (the passphrase, if it has one, is needed);
//   2. a data dir whose keys went to the keychain keeps using the keychain;
//   3. a passphrase given (option, PEERSHARE_PASSPHRASE, or the file named by
//      PEERSHARE_PASSPHRASE_FILE) → a key file under that passphrase;
//   4. an OS keychain that answers within ~2 s → the keychain;
//   5. otherwise a key file without a passphrase, and a notice that says where it is and how to
//      give it one (`peershare keys protect`, setKeyFilePassphrase below).

import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../util/fs-atomic";
import { KeyFileSeal, KeyStoreError, passphraseSeal, readIfExists, readKeyFile, writeKeyFile } from "./key-file";

export { KeyStoreError, SCRYPT_DEFAULTS } from "./key-file";

/** keychain; a key file under a passphrase; a key file without one (only its mode protects it); memory (a throwaway node). */
export type KeyStoreKind = "keychain" | "passphrase-file" | "key-file" | "memory";

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

export const KEY_FILE = "keys.enc";
/** Present in a data dir whose secrets are in the OS keychain (names the entries; holds no secret). */
export const KEYCHAIN_MARKER = "keystore.json";
export const KEYCHAIN_SERVICE = "peershare";
const KEYCHAIN_MODULE = "@napi-rs/keyring";
const KEYCHAIN_PROBE_MS = 2000;

const MAX_SECRET_BYTES = 1 << 20;
const MAX_NAME_BYTES = 255;
const MAX_ENTRIES = 0xffff;

function checkName(name: string): Buffer {
  const bytes = Buffer.from(name, "utf8");
  if (bytes.length === 0 || bytes.length > MAX_NAME_BYTES) throw new KeyStoreError(`a key name must be 1 to ${MAX_NAME_BYTES} bytes long`);
  return bytes;
}

function checkSecret(secret: Buffer): void {
  if (!Buffer.isBuffer(secret) && !((secret as unknown) instanceof Uint8Array)) throw new KeyStoreError("a secret must be a Buffer");
  if (secret.length > MAX_SECRET_BYTES) throw new KeyStoreError(`a secret may be at most ${MAX_SECRET_BYTES} bytes long`);
}

/** Secrets in the key file (under a passphrase or not); every change rewrites it atomically (temp + fsync + rename). */
class KeyFileStore implements KeyStore {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly location: string,
    private readonly passphrase: string | undefined,
    /** How the file is sealed (with a passphrase: the derived key, so reads and writes cost no scrypt). */
    private seal: KeyFileSeal,
  ) {}

  get kind(): KeyStoreKind {
    return this.seal.kind === "none" ? "key-file" : "passphrase-file";
  }

  /** Opens an existing key file (checking the passphrase now, not at first use), or one to be created under `passphrase` (none: unprotected). */
  static async open(file: string, passphrase: string | undefined): Promise<KeyFileStore> {
    const data = readIfExists(file);
    if (data) return new KeyFileStore(file, passphrase, (await readKeyFile(file, data, { passphrase })).seal);
    return new KeyFileStore(file, passphrase, passphrase === undefined ? { kind: "none" } : await passphraseSeal(passphrase));
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
      if (edit(entries)) writeKeyFile(this.location, entries, this.seal);
    });
    this.queue = run;
    return run;
  }

  /** The file as it is now (rewritten by another process with a new salt: the key is derived again). */
  private async load(): Promise<Map<string, Buffer>> {
    const data = readIfExists(this.location);
    if (!data) return new Map();
    const { entries, seal } = await readKeyFile(this.location, data, { passphrase: this.passphrase, seal: this.seal });
    this.seal = seal;
    return entries;
  }
}

/** Secrets of a throwaway node (a one-off fetch or share): kept in memory, gone when it stops. */
export class MemoryKeyStore implements KeyStore {
  readonly kind = "memory" as const;
  readonly location = "memory (a throwaway node: nothing is kept)";
  private readonly entries = new Map<string, Buffer>();

  async get(name: string): Promise<Buffer | null> {
    checkName(name);
    const secret = this.entries.get(name);
    return secret ? Buffer.from(secret) : null;
  }

  async set(name: string, secret: Buffer): Promise<void> {
    checkName(name);
    checkSecret(secret);
    this.entries.set(name, Buffer.from(secret));
  }

  async delete(name: string): Promise<void> {
    this.entries.delete(name);
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
export function givenPassphrase(opts: OpenKeyStoreOptions): string | undefined {
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
    const store = await KeyFileStore.open(keyFile, passphrase);
    if (store.kind === "key-file" && passphrase !== undefined) log(`keys: a passphrase was given, but ${keyFile} has none; give it one with \`peershare keys protect\``);
    log(`keys: in ${keyFile} (${store.kind === "key-file" ? "no passphrase; readable by this user only" : "passphrase-protected"})`);
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
    const store = await KeyFileStore.open(keyFile, passphrase);
    log(`keys: in ${keyFile} (passphrase-protected)`);
    return store;
  }

  const noKeychain = await keychainOrWhyNot(dir, opts);
  if (typeof noKeychain !== "string") {
    log(`keys: in the OS keychain, ${noKeychain.location}`);
    return noKeychain;
  }
  log(
    `keys: no passphrase was given and no OS keychain answers (${noKeychain}), so this node's keys go to ${keyFile}, readable by this user only (mode 0600). ` +
      `To protect them with a passphrase: peershare keys protect --data-dir ${dir} (then start with PEERSHARE_PASSPHRASE or PEERSHARE_PASSPHRASE_FILE)`,
  );
  return KeyFileStore.open(keyFile, undefined);
}

/** The OS keychain when it answers, else why not. */
async function keychainOrWhyNot(dir: string, opts: OpenKeyStoreOptions): Promise<KeychainStore | string> {
  if (opts.keychain === "never") return "the OS keychain is not to be used here";
  const keyring = loadKeyring();
  if (typeof keyring === "string") return keyring;
  const store = new KeychainStore(keyring, dir);
  const problem = await store.probe(KEYCHAIN_PROBE_MS);
  if (!problem) return store;
  const noBus = (process.platform === "linux" || process.platform === "freebsd") && !process.env.DBUS_SESSION_BUS_ADDRESS;
  return noBus ? "there is no D-Bus session: DBUS_SESSION_BUS_ADDRESS is not set" : problem;
}

/**
 * Gives the data dir's key file a new passphrase (`next`), or takes its passphrase away (`next`
 * null: only the file's mode, 0600, protects it then). A protected file needs its `current`
 * passphrase. The file is rewritten atomically; no node may be running on the data dir meanwhile
 * (it would go on writing the file the old way).
 */
export async function setKeyFilePassphrase(dataDir: string, current: string | undefined, next: string | null): Promise<{ file: string; protected: boolean }> {
  const dir = path.resolve(dataDir);
  const file = path.join(dir, KEY_FILE);
  const data = readIfExists(file);
  if (!data) {
    if (fs.existsSync(path.join(dir, KEYCHAIN_MARKER))) throw new KeyStoreError(`this node's keys are in the OS keychain (${keychainLabel()}), not in a key file: the keychain protects them`);
    throw new KeyStoreError(`there is no key file in ${dir}: start the node there once (peershare start --data-dir ${dir}) to make its keys`);
  }
  if (next === "") throw new KeyStoreError("the new passphrase is empty; choose one that is not");
  const { entries } = await readKeyFile(file, data, { passphrase: current });
  writeKeyFile(file, entries, next === null ? { kind: "none" } : await passphraseSeal(next));
  for (const secret of entries.values()) secret.fill(0);
  return { file, protected: next !== null };
}
