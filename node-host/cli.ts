// The `peershare` command. `start` (or `serve`) runs a node; every other verb talks to the node
// running for --data-dir over its authenticated local socket, through the same JSON-RPC API that
// the VS Code extension uses.

import * as os from "node:os";
import * as path from "node:path";
import { parseArgs, ParseArgsConfig } from "node:util";
import { Api, ApiMethod } from "./rpc/api-types";
import { connectLocal } from "./rpc/local-socket";
import { runDaemon } from "./daemon";
import { ConfigError, loadConfig, saveSetting, SETTINGS, defaultConfig, isSettingName } from "./config";
import { formatClosest, formatLookup, formatPeers, formatRouting, formatValue, table } from "./cli-format";
import { VERSION } from "./node";

class UsageError extends Error {}

const COMMON = `Common options:
  --data-dir DIR   the node's data directory (default: $PEERSHARE_DATA_DIR or ~/.peershare)
  --json           machine-readable output
  -h, --help       help for a command`;

const HELP: Record<string, string> = {
  main: `peershare ${VERSION}: peer-to-peer file sharing for teams

Usage: peershare <command> [options]

Node:
  start                 run a node in the foreground (Ctrl-C leaves the network gracefully)
  stop                  stop the running node
  id                    this node's ID and address
  peers                 known peers with state, round-trip time and last seen
  routing               the routing table, bucket by bucket
DHT:
  dht lookup KEY        find the value or the providers stored under KEY, with the hops taken
  dht closest KEY       the nodes closest to KEY in the whole network  [-n N]
  dht put NAME VALUE    publish VALUE signed by this node; prints the key to get it by
  dht get KEY           fetch a value from the network (signature checked)
Settings:
  config get [NAME]     show settings
  config set NAME VALUE change a setting (k, alpha, replication, intervals, ...)

A KEY is 64 hex digits, or any other text, which is hashed with SHA-256.

${COMMON}

Run "peershare <command> --help" for more.`,
  start: `Usage: peershare start [--data-dir DIR] [--port N] [--host ADDR] [--bootstrap HOST:PORT]... [--json]

Runs a node in the foreground until Ctrl-C or SIGTERM, then tells its neighbours it is leaving.
  --port N              UDP port (default 7420 or the configured one; 0 picks a free port)
  --host ADDR           address to listen on (default 0.0.0.0)
  --bootstrap HOST:PORT a node to join through; repeat for several (default: the configured list)
  --json                print one JSON line with the node's ID and address once it listens
Logs go to stderr.`,
  serve: `Usage: peershare serve --stdio [--data-dir DIR] [start options]

Like start, and also speaks the JSON-RPC 2.0 API on stdin/stdout (newline-delimited JSON).
This is how the VS Code extension runs its node. The node stops when stdin closes.`,
  stop: `Usage: peershare stop [--data-dir DIR]\n\nAsks the running node to leave the network and exit.`,
  id: `Usage: peershare id [--data-dir DIR] [--json]\n\nPrints the node's ID (SHA-256 of its Ed25519 public key) and UDP address.`,
  peers: `Usage: peershare peers [--data-dir DIR] [--json]\n\nLists known peers: state (online, suspect, offline), round-trip time, last seen.`,
  routing: `Usage: peershare routing [--data-dir DIR] [--json]\n\nShows the routing table: each non-empty bucket with its contacts.`,
  dht: `Usage:
  peershare dht lookup KEY [--json]
  peershare dht closest KEY [-n N] [--json]
  peershare dht put NAME VALUE [--json]
  peershare dht get KEY [--json]

lookup   finds a value, or else the providers, stored under KEY, and shows each node asked
closest  runs an iterative lookup and prints the N (default k) nodes closest to KEY
put      publishes VALUE (at most 800 bytes) signed by this node under a key derived from its
         public key and NAME, on the k closest nodes; prints that key
get      fetches the value under KEY from any node; its signature is checked

KEY is 64 hex digits, or any other text, which is hashed with SHA-256.`,
  config: `Usage:
  peershare config get [NAME] [--json]
  peershare config set NAME VALUE

Settings live in DATA_DIR/config.json. With a node running, "set" applies at once where it can
(otherwise at the next start); without one it edits the file.

${Object.entries(SETTINGS)
  .map(([name, s]) => `  ${name.padEnd(22)} ${s.help} (default ${JSON.stringify(s.default)}${s.live ? "" : "; at next start"})`)
  .join("\n")}`,
};

const OPTIONS = {
  "data-dir": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  port: { type: "string" },
  host: { type: "string" },
  bootstrap: { type: "string", multiple: true },
  stdio: { type: "boolean" },
  n: { type: "string", short: "n" },
  version: { type: "boolean" },
} satisfies ParseArgsConfig["options"];

type Flags = ReturnType<typeof parse>["values"];

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function dataDirOf(flags: Flags): string {
  return path.resolve(flags["data-dir"] ?? process.env.PEERSHARE_DATA_DIR ?? path.join(os.homedir(), ".peershare"));
}

function intFlag(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  return n;
}

function print(flags: Flags, data: unknown, text: () => string): void {
  process.stdout.write((flags.json ? JSON.stringify(data, null, 2) : text()) + "\n");
}

async function withNode<M extends ApiMethod>(flags: Flags, method: M, params: Api[M][0]): Promise<Api[M][1]> {
  const client = await connectLocal(dataDirOf(flags));
  try {
    return await client.call(method, params);
  } finally {
    client.close();
  }
}

function needArgs(args: string[], n: number, usage: string): void {
  if (args.length !== n) throw new UsageError(`expected ${usage}`);
}

async function cmdStart(flags: Flags, stdio: boolean): Promise<void> {
  const dataDir = dataDirOf(flags);
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const { node, stopped } = await runDaemon({
    dataDir,
    port: intFlag(flags.port, "port", 0, 65535),
    host: flags.host,
    bootstrap: flags.bootstrap,
    log,
    stdio,
  });
  if (!stdio) {
    const info = { id: node.identity.id.toString("hex"), host: node.transport.local.host, port: node.transport.local.port, dataDir };
    print(flags, info, () => `peershare node ${info.id}\n  listening on udp ${info.host}:${info.port}\n  data dir ${dataDir}\n  Ctrl-C to stop`);
  }
  await stopped;
}

async function cmdConfig(flags: Flags, args: string[]): Promise<void> {
  const [sub, name, value] = args;
  const dataDir = dataDirOf(flags);
  if (sub === "get") {
    if (name !== undefined && !isSettingName(name)) throw new ConfigError(`unknown setting "${name}"; known: ${Object.keys(SETTINGS).join(", ")}`);
    let values: Record<string, unknown>;
    try {
      values = await withNode(flags, "config.get", name ? { key: name } : {});
    } catch (err) {
      if ((err as Error).name !== "NoNodeRunningError") throw err;
      const all = { ...defaultConfig(), ...loadConfig(dataDir) } as unknown as Record<string, unknown>;
      values = name ? { [name]: all[name] } : all;
    }
    print(flags, values, () => table(["SETTING", "VALUE"], Object.entries(values).map(([k, v]) => [k, JSON.stringify(v)])));
    return;
  }
  if (sub === "set") {
    needArgs(args, 3, "config set NAME VALUE");
    let result: { key: string; value: unknown; appliedLive: boolean };
    try {
      result = await withNode(flags, "config.set", { key: name, value });
    } catch (err) {
      if ((err as Error).name !== "NoNodeRunningError") throw err;
      result = { key: name, value: saveSetting(dataDir, name, value), appliedLive: false };
    }
    print(flags, result, () => `${result.key} = ${JSON.stringify(result.value)}${result.appliedLive ? " (applied)" : " (takes effect when the node starts)"}`);
    return;
  }
  throw new UsageError("expected config get [NAME] or config set NAME VALUE");
}

async function cmdDht(flags: Flags, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  switch (sub) {
    case "lookup": {
      needArgs(rest, 1, "dht lookup KEY");
      const r = await withNode(flags, "dht.lookup", { key: rest[0] });
      return print(flags, r, () => formatLookup(r));
    }
    case "closest": {
      needArgs(rest, 1, "dht closest KEY [-n N]");
      const r = await withNode(flags, "dht.closest", { key: rest[0], n: intFlag(flags.n, "n", 1, 256) });
      return print(flags, r, () => formatClosest(r));
    }
    case "put": {
      needArgs(rest, 2, "dht put NAME VALUE");
      const r = await withNode(flags, "dht.put", { name: rest[0], value: rest[1] });
      return print(flags, r, () => `${r.key}\n  stored on ${r.storedOn} node(s); get it anywhere with: peershare dht get ${r.key}`);
    }
    case "get": {
      needArgs(rest, 1, "dht get KEY");
      const r = await withNode(flags, "dht.get", { key: rest[0] });
      return print(flags, r, () => formatValue(r));
    }
    default:
      throw new UsageError("expected dht lookup|closest|put|get");
  }
}

async function run(argv: string[]): Promise<void> {
  const { values: flags, positionals } = parse(argv);
  const [command, ...args] = positionals;
  if (flags.version) return void process.stdout.write(`${VERSION}\n`);
  if (!command || command === "help") return void process.stdout.write((HELP[args[0] ?? ""] ?? HELP.main) + "\n");
  if (flags.help) return void process.stdout.write((HELP[command] ?? HELP.main) + "\n");
  switch (command) {
    case "start":
      return cmdStart(flags, false);
    case "serve":
      if (!flags.stdio) throw new UsageError("serve needs --stdio");
      return cmdStart(flags, true);
    case "stop": {
      await withNode(flags, "node.stop", {});
      return print(flags, { stopping: true }, () => "the node is leaving the network and stopping");
    }
    case "id": {
      const info = await withNode(flags, "node.info", {});
      return print(flags, info, () => `${info.id}\n  udp ${info.host}:${info.port}, ${info.peers} peer(s), pid ${info.pid}, version ${info.version}`);
    }
    case "peers": {
      const peers = await withNode(flags, "dht.peers", {});
      return print(flags, peers, () => formatPeers(peers));
    }
    case "routing": {
      const r = await withNode(flags, "dht.routing", {});
      return print(flags, r, () => formatRouting(r));
    }
    case "dht":
      return cmdDht(flags, args);
    case "config":
      return cmdConfig(flags, args);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

export async function main(argv = process.argv.slice(2)): Promise<number> {
  try {
    await run(argv);
    return 0;
  } catch (err) {
    const e = err as Error & { code?: number };
    if (err instanceof UsageError) {
      process.stderr.write(`peershare: ${e.message}\nRun "peershare --help" for usage.\n`);
      return 2;
    }
    process.stderr.write(`peershare: ${e.message}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main().then((code) => process.exit(code));
}
