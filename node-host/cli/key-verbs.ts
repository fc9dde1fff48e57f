// `peershare keys`: where this node's keys are kept, and adding, changing or removing the
// passphrase of its key file. Works on the data dir's files, so no node may be running on it.

import * as fs from "node:fs";
import * as path from "node:path";
import { keyFileProtection } from "../security/key-file";
import { givenPassphrase, KEY_FILE, KEYCHAIN_MARKER, KeyStoreError, setKeyFilePassphrase } from "../security/key-store";
import { connectLocal } from "../rpc/local-socket";
import { dataDirOf, Flags, needArgs } from "./args";
import { readSecret } from "./prompt";
import { print, subcommands, VerbGroup } from "./verb";

interface KeysInfo {
  dataDir: string;
  /** "key-file": no passphrase (mode 0600 only); "none": the node has not made its keys yet. */
  kind: "keychain" | "passphrase-file" | "key-file" | "none";
  location: string | null;
}

function keysInfo(dataDir: string): KeysInfo {
  const file = path.join(dataDir, KEY_FILE);
  const protection = keyFileProtection(file);
  if (protection) return { dataDir, kind: protection === "passphrase" ? "passphrase-file" : "key-file", location: file };
  if (fs.existsSync(path.join(dataDir, KEYCHAIN_MARKER))) return { dataDir, kind: "keychain", location: "the OS keychain" };
  return { dataDir, kind: "none", location: null };
}

/** The passphrase changes only while no node uses the file: a running one would write it the old way. */
async function refuseIfRunning(dataDir: string): Promise<void> {
  const client = await connectLocal(dataDir).catch(() => null);
  if (!client) return;
  client.close();
  throw new KeyStoreError(`a node is running for ${dataDir}: stop it first (peershare stop --data-dir ${dataDir}), then change its passphrase`);
}

/** The key file's current passphrase: from the environment, else asked on the terminal when the file has one. */
async function currentPassphrase(dataDir: string): Promise<string | undefined> {
  const given = givenPassphrase({});
  if (given !== undefined || keysInfo(dataDir).kind !== "passphrase-file" || !process.stdin.isTTY) return given;
  return readSecret("current passphrase: ");
}

async function change(flags: Flags, protect: boolean): Promise<void> {
  const dataDir = dataDirOf(flags);
  await refuseIfRunning(dataDir);
  const current = await currentPassphrase(dataDir);
  const next = protect ? await readSecret("new passphrase: ", true) : null;
  const r = await setKeyFilePassphrase(dataDir, current, next);
  print(flags, r, () =>
    r.protected
      ? `${r.file} is now protected by the passphrase; start the node with it in PEERSHARE_PASSPHRASE or in a file named by PEERSHARE_PASSPHRASE_FILE`
      : `${r.file} has no passphrase now; only its mode (0600: this user alone) protects it`,
  );
}

const keys = subcommands(
  {
    show: async (flags, args) => {
      needArgs(args, 0, "keys show");
      const info = keysInfo(dataDirOf(flags));
      const text: Record<KeysInfo["kind"], string> = {
        keychain: "in the OS keychain",
        "passphrase-file": `in ${info.location}, protected by a passphrase`,
        "key-file": `in ${info.location}, without a passphrase: readable by this user only (give it one with: peershare keys protect)`,
        none: `none yet: the node makes them at its first start`,
      };
      print(flags, info, () => `keys of ${info.dataDir}: ${text[info.kind]}`);
    },
    protect: (flags, args) => (needArgs(args, 0, "keys protect"), change(flags, true)),
    unprotect: (flags, args) => (needArgs(args, 0, "keys unprotect"), change(flags, false)),
  },
  "expected keys show|protect|unprotect",
);

export const keyVerbs: VerbGroup = {
  title: "Keys",
  verbs: [
    {
      name: "keys",
      summary: [
        ["keys show", "where this node's keys are kept, and whether a passphrase protects them"],
        ["keys protect", "give the key file a passphrase, or change it"],
        ["keys unprotect", "take the key file's passphrase away (mode 0600 protects it then)"],
      ],
      help: `Usage:
  peershare keys show [--json]
  peershare keys protect [--json]
  peershare keys unprotect [--json]

A node keeps its keys (its identity, team keys) in the OS keychain when one answers, else in
DATA_DIR/${KEY_FILE}: under a passphrase when one is given (PEERSHARE_PASSPHRASE, or a file named by
PEERSHARE_PASSPHRASE_FILE), otherwise readable by its owner alone (mode 0600), like an ssh key
without a passphrase.
protect    asks for a new passphrase twice on the terminal (without a terminal: reads one line of
           stdin) and encrypts the key file under it (scrypt, AES-256-GCM). A file that has a
           passphrase already needs the current one: PEERSHARE_PASSPHRASE(_FILE), or typed.
unprotect  decrypts the key file (with the current passphrase) and keeps it at mode 0600.
The node must be stopped meanwhile; start it afterwards with the passphrase it now needs.`,
      run: keys,
    },
  ],
};
