// The `peershare` command. `start` (or `serve`) runs a node; every other verb talks to the node
// running for --data-dir over its authenticated local socket, through the same JSON-RPC API that
// the VS Code extension uses.

import * as os from "node:os";
import * as path from "node:path";
import { parseArgs, ParseArgsConfig } from "node:util";
import * as fs from "node:fs";
import { pipeline } from "node:stream/promises";
import { Api, ApiMethod, FetchInfo, TransferInfo } from "./rpc/api-types";
import { connectLocal } from "./rpc/local-socket";
import { runDaemon } from "./daemon";
import { ConfigError, loadConfig, saveSetting, SETTINGS, defaultConfig, isSettingName } from "./config";
import { formatAudit, formatClosest, formatLookup, formatMembers, formatPeers, formatRouting, formatStatus, formatTeams, formatValue, table } from "./cli-format";
import { MAX_REPLICATION } from "./replication/factors";
import { VERSION } from "./node";
import { randomBytes } from "node:crypto";
import { nativeStatusLines } from "./platform/native-status";

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
Files:
  share PATH            share a file (private unless --public); prints its link  [--replication N]
  status ID|LINK        which live nodes hold a shared file, and whether it has its r copies
  repair ID|LINK        copy a file this node holds to more nodes now, until r keep it
  fetch ID|LINK         fetch a shared file from its holders  [-o PATH] [--cache]
  cat ID|LINK           write a shared file to stdout
  ls                    what the store holds: own shares, replicas, cache
  verify                re-hash every stored object and name the corrupt ones
  gc                    evict cache over the limit and unreferenced objects
DHT:
  dht lookup KEY        find the value or the providers stored under KEY  [--trace]
  dht closest KEY       the nodes closest to KEY in the whole network  [-n N]
  dht put NAME VALUE    publish VALUE signed by this node; prints the key to get it by
  dht get KEY           fetch a value from the network (signature checked)
  audit [ID|LINK]       who fetched this node's shares, and who was refused
Teams:
  team create NAME      make a team; this node holds its key (invites, revocations)
  team invite           print an invite for a teammate  [--role read|write] [--expires 7d] [--for NODE_ID]
  team join INVITE      redeem an invite: this node becomes a member
  team list             the teams this node is in
  team members          members seen, with role and revocation  [--team NAME]
  team revoke NODE_ID   end a member's access  [--team NAME]
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
  peershare dht lookup KEY [--trace] [--json]
  peershare dht closest KEY [-n N] [--json]
  peershare dht put NAME VALUE [--json]
  peershare dht get KEY [--json]

lookup   finds a value, or else the providers, stored under KEY; --trace shows each node asked,
         hop by hop: its XOR distance to KEY (and its bit length), round-trip time, and whether
         it answered (--json always includes them)
closest  runs an iterative lookup and prints the N (default k) nodes closest to KEY
put      publishes VALUE (at most 800 bytes) signed by this node under a key derived from its
         public key and NAME, on the k closest nodes; prints that key
get      fetches the value under KEY from any node; its signature is checked

KEY is 64 hex digits, or any other text, which is hashed with SHA-256.`,
  share: `Usage: peershare share PATH [--public] [--team NAME]... [--replication N] [--force] [--json]

Adds the file to this node's store, announces this node as its holder, and copies it to the N-1
live nodes closest to its content ID (N: --replication, else the "replication" setting, default 3),
which keep it and repair lost copies. A private share (the default) is encrypted: its link carries
the key, and other nodes only ever hold ciphertext.
--public stores plaintext that anyone with the content ID can read.
--team NAME  only members of this team may fetch it (repeat for several; default: every team of
             this node). With one team, teammates' copies of the same file deduplicate.
A node in no team serves its shares to any node that has the link.
A file that git ignores, that looks like a secret (.env, private keys, API tokens) or that is
larger than the "shareWarnMB" setting is not shared unless --force is given.`,
  audit: `Usage: peershare audit [ID|LINK] [--json]

Lists the requests other nodes made for this node's own shares (all of them, or one): when, which
node, and whether it was served or refused by the team policy. The log is append-only, hash-chained
and signed by this node; a line that was edited or removed is reported. It keeps the newest 5,000
to 10,000 entries.`,
  team: `Usage:
  peershare team create NAME [--json]
  peershare team invite [--team NAME] [--role read|write] [--expires DURATION] [--for NODE_ID] [--json]
  peershare team join INVITE [--json]
  peershare team list [--json]
  peershare team members [--team NAME] [--json]
  peershare team revoke NODE_ID [--team NAME] [--json]

A team is a key pair held by the node that created it. Its members prove membership with a
certificate signed through that key and bound to their node key; a node in a team serves private
shares only to members of the teams they were shared with, and stores replicas only for members
with write role. An invite (default role read, valid 7 days; DURATION like 30m, 12h, 7d) is a
secret: whoever holds it can join until it expires. An invite made --for a node ID (what
\`peershare id\` prints on the teammate's node) lets only that node join. Only the team's creator
can invite and revoke; revocations spread to other nodes as they connect.`,
  status: `Usage: peershare status ID|LINK [--json]

Lists the nodes that announced they hold the file, whether each answers now and holds every chunk,
and whether the file has its r live copies.`,
  repair: `Usage: peershare repair ID|LINK [--json]

Repairs one shared file now instead of at the next sweep: when fewer than r live nodes keep it,
this node (which must hold it) copies it to the nearest live nodes lacking it, sending only the
objects they lack, within one sweep's budget (setting repairMBPerSweep). Prints the copies made.`,
  fetch: `Usage: peershare fetch ID|LINK [-o PATH] [--cache] [--json]

Fetches a shared file from its holders (several at once), verifying every chunk. -o names a
directory or a file (default: DATA_DIR/downloads/). The file is written as .NAME.peershare-part
beside its target and renamed into place when whole: a fetch that was interrupted, failed or paused
resumes from the chunks that file holds when run again to the same target.
--cache also keeps the chunks in the node's store (as cache, up to cacheSizeMB), so fetching the
same content again needs no holder; without it the file is the only copy.
--json prints progress as one JSON event per line, then the result.`,
  cat: `Usage: peershare cat ID|LINK

Fetches a shared file and writes it to stdout. Its chunks stay in the node's cache (up to
cacheSizeMB), so a second cat of the same content needs no holder.`,
  ls: `Usage: peershare ls [--json]

Lists the shared files in the store (own shares, replicas, cache), how many of each one's chunks
are held here ("manifest only" after a fetch without --cache: the file is the copy), and the
store's size.`,
  verify: `Usage: peershare verify [--json]

Re-hashes every stored object; corrupt ones are quarantined and named. Exit status 1 if any.`,
  gc: `Usage: peershare gc [--json]

Evicts cached objects over the cache limit and chunks no manifest refers to.`,
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
  public: { type: "boolean" },
  out: { type: "string", short: "o" },
  replication: { type: "string" },
  team: { type: "string", multiple: true },
  force: { type: "boolean" },
  cache: { type: "boolean" },
  trace: { type: "boolean" },
  role: { type: "string" },
  expires: { type: "string" },
  for: { type: "string" },
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
      return print(flags, r, () => formatLookup(r, flags.trace === true));
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

/** "30m", "12h", "7d" (or plain seconds) → milliseconds. */
function durationMs(text: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!m) throw new UsageError(`--expires takes a duration like 30m, 12h or 7d, not "${text}"`);
  return Number(m[1]) * { "": 1000, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }[m[2] as "" | "s" | "m" | "h" | "d"];
}

function oneTeam(flags: Flags): string | undefined {
  if ((flags.team?.length ?? 0) > 1) throw new UsageError("name one team with --team");
  return flags.team?.[0];
}

async function cmdTeam(flags: Flags, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  switch (sub) {
    case "create": {
      needArgs(rest, 1, "team create NAME");
      const r = await withNode(flags, "team.create", { name: rest[0] });
      return print(flags, r, () => `created team "${r.name}" (${r.teamKey.slice(0, 16)}…); this node holds its key\n  invite a teammate with: peershare team invite --role read|write`);
    }
    case "invite": {
      needArgs(rest, 0, "team invite [--team NAME] [--role read|write] [--expires 7d] [--for NODE_ID]");
      const role = flags.role ?? "read";
      if (role !== "read" && role !== "write") throw new UsageError('--role is "read" or "write"');
      const r = await withNode(flags, "team.invite", { team: oneTeam(flags), role, expiresInMs: flags.expires ? durationMs(flags.expires) : undefined, forNode: flags.for });
      const who = r.forNode ? `only node ${r.forNode.slice(0, 16)}… can use it` : "whoever holds it can join: keep it secret";
      return print(flags, r, () => `${r.invite}\n  joins team "${r.team}" with role ${r.role}, until ${new Date(r.expires).toISOString()}; ${who}\n  the teammate runs: peershare team join '<the line above>'`);
    }
    case "join": {
      needArgs(rest, 1, "team join INVITE");
      const r = await withNode(flags, "team.join", { invite: rest[0] });
      return print(flags, r, () => `joined team "${r.name}" with role ${r.role}`);
    }
    case "list": {
      const r = await withNode(flags, "team.list", {});
      return print(flags, r, () => formatTeams(r));
    }
    case "members": {
      const r = await withNode(flags, "team.members", { team: oneTeam(flags) });
      return print(flags, r, () => formatMembers(r));
    }
    case "revoke": {
      needArgs(rest, 1, "team revoke NODE_ID");
      const r = await withNode(flags, "team.revoke", { team: oneTeam(flags), nodeId: rest[0] });
      return print(flags, r, () => `revoked ${r.revoked.slice(0, 16)}… from team "${r.team}" (revocation list #${r.seq}); it can no longer fetch the team's private shares`);
    }
    default:
      throw new UsageError("expected team create|invite|join|list|members|revoke");
  }
}

function humanBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function progressLine(t: TransferInfo): string {
  const frac = t.bytesTotal ? t.bytesDone / t.bytesTotal : 0;
  const bar = "#".repeat(Math.round(frac * 24)).padEnd(24, "-");
  const eta = t.etaMs === null ? "" : ` ETA ${Math.ceil(t.etaMs / 1000)}s`;
  return `[${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${humanBytes(t.bytesDone)}/${humanBytes(t.bytesTotal)} ${humanBytes(t.rate)}/s ${t.holders} holder(s)${eta}`;
}

/** Runs a fetch, showing progress (a bar on a terminal, JSON lines with --json). */
async function fetchWithProgress(flags: Flags, link: string, out: string | undefined, cache: boolean): Promise<FetchInfo> {
  const client = await connectLocal(dataDirOf(flags));
  const tty = process.stderr.isTTY && !flags.json;
  const transferId = randomBytes(8).toString("hex"); // ours, so progress events can be told apart
  client.onNotification((method, params) => {
    const t = params as TransferInfo;
    if (method !== "transfer.progress" || t.id !== transferId) return;
    if (flags.json) process.stdout.write(JSON.stringify({ event: "progress", ...t }) + "\n");
    else if (tty) process.stderr.write(`\r${progressLine(t)}`);
  });
  try {
    return await client.call("content.fetch", { link, out, transferId, cache }, 24 * 3600_000);
  } finally {
    if (tty) process.stderr.write("\n");
    client.close();
  }
}

async function cmdFiles(flags: Flags, command: string, args: string[]): Promise<void> {
  switch (command) {
    case "share": {
      needArgs(args, 1, "share PATH");
      const replication = intFlag(flags.replication, "replication", 1, MAX_REPLICATION);
      const r = await withNode(flags, "content.share", { path: path.resolve(args[0]), public: flags.public === true, replication, teams: flags.team, force: flags.force === true });
      const readers = r.public ? "public" : `private, encrypted${r.teams.length ? `, for team ${r.teams.join(", ")}` : ""}`;
      return print(flags, r, () => `shared ${r.name} (${humanBytes(r.size)}, ${r.chunks} chunk(s), ${readers})\n  ${r.link}\n  announced to ${r.announcedTo} node(s); copied to ${r.replicas} of ${r.replication - 1} other node(s)\n  fetch it with: peershare fetch '${r.link}'`);
    }
    case "repair": {
      needArgs(args, 1, "repair ID|LINK");
      const r = await withNode(flags, "content.repair", { link: args[0] });
      const after = r.holdersBefore + r.copies;
      return print(flags, r, () => (r.holdersBefore >= r.replication ? `${r.contentId.slice(0, 16)}… already has ${r.holdersBefore} of ${r.replication} live holders: nothing to do` : `${r.contentId.slice(0, 16)}…: ${r.holdersBefore} → ${after} of ${r.replication} live holders (${r.copies} copy(ies), ${humanBytes(r.bytes)} sent)${after < r.replication ? "; r not reached: too few live nodes took a copy" : ""}`));
    }
    case "status": {
      needArgs(args, 1, "status ID|LINK");
      const r = await withNode(flags, "content.status", { link: args[0] });
      return print(flags, r, () => formatStatus(r));
    }
    case "fetch": {
      needArgs(args, 1, "fetch ID|LINK");
      // a trailing separator means "into this directory", even if it does not exist yet
      const out = flags.out ? path.resolve(flags.out) + (/[\\/]$/.test(flags.out) ? path.sep : "") : undefined;
      const r = await fetchWithProgress(flags, args[0], out, flags.cache === true);
      if (flags.json) return void process.stdout.write(JSON.stringify({ event: "done", ...r }) + "\n");
      const reused = r.bytesReused ? `, ${humanBytes(r.bytesReused)} already here` : "";
      return void process.stdout.write(`${r.path}\n  ${humanBytes(r.size)} from ${r.holdersUsed} holder(s) in ${(r.durationMs / 1000).toFixed(1)} s${reused}\n`);
    }
    case "cat": {
      needArgs(args, 1, "cat ID|LINK");
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-cat-"));
      try {
        const r = await fetchWithProgress({ ...flags, json: false }, args[0], path.join(tmp, "content"), true);
        await pipeline(fs.createReadStream(r.path), process.stdout);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
      return;
    }
    case "ls": {
      const r = await withNode(flags, "content.ls", {});
      return print(flags, r, () =>
        [
          table(
            ["CONTENT ID", "NAME", "SIZE", "PINNED", "HELD HERE"],
            r.contents.map((c) => [c.contentId, c.name ?? "(private)", c.name ? humanBytes(c.size) : "?", c.pins.join(",") || "cache", c.chunksHeld === c.chunks ? "all" : c.chunksHeld === 0 ? "manifest only" : `${c.chunksHeld} of ${c.chunks} chunks`]),
          ),
          `${r.objects} object(s), ${humanBytes(r.bytes)}; cache ${humanBytes(r.cacheBytes)} of ${humanBytes(r.cacheLimitBytes)}`,
        ].join("\n"),
      );
    }
    case "verify": {
      const r = await withNode(flags, "content.verify", {});
      print(flags, r, () => (r.corrupt.length ? `${r.corrupt.length} corrupt object(s), quarantined:\n${r.corrupt.map((c) => `  ${c}`).join("\n")}` : `all ${r.checked} object(s) intact`));
      if (r.corrupt.length) process.exitCode = 1;
      return;
    }
    case "gc": {
      const r = await withNode(flags, "content.gc", {});
      return print(flags, r, () => `freed ${humanBytes(r.freedBytes)}`);
    }
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
      const degraded = nativeStatusLines(info.native).map((line) => `\n  ${line}`).join("");
      return print(flags, info, () => `${info.id}\n  udp ${info.host}:${info.port}, ${info.peers} peer(s), pid ${info.pid}, version ${info.version}\n  keys in ${info.keyStore.location}${degraded}`);
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
    case "share":
    case "repair":
    case "status":
    case "fetch":
    case "cat":
    case "ls":
    case "verify":
    case "gc":
      return cmdFiles(flags, command, args);
    case "config":
      return cmdConfig(flags, args);
    case "team":
      return cmdTeam(flags, args);
    case "audit": {
      if (args.length > 1) throw new UsageError("expected audit [ID|LINK]");
      const r = await withNode(flags, "audit.list", { content: args[0] });
      print(flags, r, () => formatAudit(r));
      if (!r.intact) process.exitCode = 1;
      return;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

export async function main(argv = process.argv.slice(2)): Promise<number> {
  try {
    await run(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0; // a verb may set a failing status
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
