// A node's settings, kept in DATA_DIR/config.json. Every setting has a default, a type and a
// range; `peershare config set` and the VS Code extension change them through the same checks.

import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "./util/fs-atomic";

interface NumberSetting {
  kind: "number";
  default: number;
  min: number;
  max: number;
  /** Applied to a running node at once; otherwise at the next start. */
  live: boolean;
  help: string;
}

interface StringSetting {
  kind: "string";
  default: string;
  choices?: string[];
  /** "" is a value (it says "none"); otherwise the text must be non-empty. */
  mayBeEmpty?: boolean;
  /** Checks the text further; throws a ConfigError that says what is wrong. */
  check?: (text: string) => void;
  live: boolean;
  help: string;
}

interface ListSetting {
  kind: "list";
  default: string[];
  live: boolean;
  help: string;
}

type Setting = NumberSetting | StringSetting | ListSetting;

export const SETTINGS = {
  k: { kind: "number", default: 20, min: 2, max: 64, live: false, help: "bucket size and replication of DHT records" },
  alpha: { kind: "number", default: 3, min: 1, max: 16, live: true, help: "parallel requests per lookup" },
  replication: { kind: "number", default: 3, min: 1, max: 20, live: true, help: "copies kept of each shared file" },
  port: { kind: "number", default: 7420, min: 0, max: 65535, live: false, help: "UDP port (0 = any free port)" },
  host: { kind: "string", default: "::", live: false, help: "address to listen on (:: listens on every IPv6 and IPv4 address; 0.0.0.0 on IPv4 only)" },
  bootstrap: { kind: "list", default: [], live: false, help: "HOST:PORT contacts to join through" },
  rpcTimeoutMs: { kind: "number", default: 1000, min: 50, max: 60_000, live: true, help: "longest wait for one DHT request (measured round trips shorten it per peer)" },
  offlineAfterMisses: { kind: "number", default: 3, min: 1, max: 100, live: true, help: "failed checks before a peer counts as offline" },
  healthCheckIntervalMs: { kind: "number", default: 60_000, min: 100, max: 86_400_000, live: true, help: "how often idle peers are pinged" },
  refreshIntervalMs: { kind: "number", default: 3_600_000, min: 100, max: 86_400_000, live: true, help: "idle time before a bucket is refreshed" },
  republishIntervalMs: { kind: "number", default: 3_600_000, min: 100, max: 86_400_000, live: true, help: "how often records are republished" },
  recordTtlMs: { kind: "number", default: 86_400_000, min: 10_000, max: 172_800_000, live: true, help: "lifetime of published records" },
  uploadLimitMBps: { kind: "number", default: 0, min: 0, max: 100_000, live: true, help: "cap on upload rate in MB/s (0 = none)" },
  cacheSizeMB: { kind: "number", default: 1024, min: 16, max: 1_048_576, live: true, help: "size of the cache of fetched files, in MiB" },
  repairIntervalMs: { kind: "number", default: 60_000, min: 100, max: 86_400_000, live: true, help: "how often held files are checked for missing copies" },
  repairMBPerSweep: { kind: "number", default: 256, min: 1, max: 1_048_576, live: true, help: "most MiB one repair sweep (or a leave's hand-off) sends" },
  repairContentsPerSweep: { kind: "number", default: 200, min: 1, max: 1_000_000, live: true, help: "most contents one repair sweep checks (new ones and those that lost a holder first, the rest in turn)" },
  replicaQuotaMB: { kind: "number", default: 4096, min: 0, max: 1_048_576, live: true, help: "most MiB of replicas accepted from one peer" },
  shareWarnMB: { kind: "number", default: 1024, min: 0, max: 1_048_576, live: true, help: "sharing a larger file asks for confirmation (0: never)" },
  handoffTimeoutMs: { kind: "number", default: 15_000, min: 0, max: 600_000, live: true, help: "time a leaving node spends handing its files on" },
  bulkPath: { kind: "string", default: "auto", choices: ["auto", "webrtc"], live: false, help: "auto: TLS when a peer is reachable, else WebRTC; webrtc: always WebRTC" },
  iceServers: { kind: "list", default: [], live: false, help: "STUN/TURN URLs for WebRTC (none needed on a LAN)" },
  lanDiscovery: { kind: "string", default: "on", choices: ["on", "off"], live: true, help: "announce this node on the LAN and join nodes found there (never on a loopback host)" },
  lanAnnounceIntervalMs: { kind: "number", default: 30_000, min: 1000, max: 3_600_000, live: true, help: "how often the node announces itself on the LAN (±25 %)" },
  relay: { kind: "string", default: "members", choices: ["members", "anyone", "off"], live: true, help: "whom this node relays for when two nodes cannot connect: members of its teams (anyone while it is in none), anyone, or nobody" },
  relayMBps: { kind: "number", default: 20, min: 0, max: 100_000, live: true, help: "cap on one relayed connection, MB/s each way (0 = none)" },
  relayTotalMBps: { kind: "number", default: 50, min: 0, max: 100_000, live: true, help: "cap on all relayed connections together, MB/s (0 = none)" },
  relayMinutes: { kind: "number", default: 60, min: 1, max: 1440, live: true, help: "longest life of one relayed connection, minutes" },
  rendezvous: {
    kind: "string",
    default: "off",
    choices: ["off", "mainline"],
    live: true,
    help: "mainline: teammates with no reachable peershare node meet in the BitTorrent Mainline DHT (the node announces its address there under a daily topic derived from each team key); off: never",
  },
  mainlineBootstrap: {
    kind: "list",
    default: [],
    live: false,
    help: "HOST:PORT nodes of the Mainline DHT to join through (none: router.bittorrent.com:6881, router.utorrent.com:6881, dht.transmissionbt.com:6881)",
  },
  publicAddress: {
    kind: "string",
    default: "",
    mayBeEmpty: true,
    check: (text: string) => void parseHostPort(text),
    live: false,
    help: 'HOST:PORT at which the internet reaches this node (a port forwarded to it); links and invites name it; "" = found out from peers',
  },
} satisfies Record<string, Setting>;

export type SettingName = keyof typeof SETTINGS;

export interface Config {
  k: number;
  alpha: number;
  replication: number;
  port: number;
  host: string;
  bootstrap: string[];
  rpcTimeoutMs: number;
  offlineAfterMisses: number;
  healthCheckIntervalMs: number;
  refreshIntervalMs: number;
  republishIntervalMs: number;
  recordTtlMs: number;
  cacheSizeMB: number;
  uploadLimitMBps: number;
  repairIntervalMs: number;
  repairMBPerSweep: number;
  repairContentsPerSweep: number;
  replicaQuotaMB: number;
  handoffTimeoutMs: number;
  shareWarnMB: number;
  bulkPath: string;
  iceServers: string[];
  lanDiscovery: string;
  lanAnnounceIntervalMs: number;
  relay: string;
  relayMBps: number;
  relayTotalMBps: number;
  relayMinutes: number;
  rendezvous: "off" | "mainline";
  mainlineBootstrap: string[];
  publicAddress: string;
}

export class ConfigError extends Error {}

const CONFIG_FILE = "config.json";

export function defaultConfig(): Config {
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(SETTINGS)) out[name] = Array.isArray(s.default) ? [...s.default] : s.default;
  return out as unknown as Config;
}

export function isSettingName(name: string): name is SettingName {
  return Object.prototype.hasOwnProperty.call(SETTINGS, name);
}

/** Parses a HOST:PORT contact, with a clear error. */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new ConfigError(`"${text}" is not HOST:PORT (for example 127.0.0.1:7420)`);
  return { host: m[1].replace(/^\[(.*)\]$/, "$1"), port };
}

/** Checks and converts a value given as text (CLI) or JSON (extension) for a setting. */
export function parseSetting(name: string, raw: unknown): number | string | string[] {
  if (!isSettingName(name)) throw new ConfigError(`unknown setting "${name}"; known: ${Object.keys(SETTINGS).join(", ")}`);
  const s: Setting = SETTINGS[name];
  switch (s.kind) {
    case "number": {
      const n = typeof raw === "number" ? raw : Number(String(raw).trim());
      if (!Number.isInteger(n) || n < s.min || n > s.max) throw new ConfigError(`${name} must be a whole number from ${s.min} to ${s.max}`);
      return n;
    }
    case "string": {
      if (typeof raw !== "string" || (raw.trim() === "" && !s.mayBeEmpty)) throw new ConfigError(`${name} must be non-empty text`);
      const text = raw.trim();
      if (s.choices && !s.choices.includes(text)) throw new ConfigError(`${name} must be one of: ${s.choices.join(", ")}`);
      if (text !== "") s.check?.(text);
      return text;
    }
    case "list": {
      const items = Array.isArray(raw) ? raw.map(String) : String(raw).split(",").map((x) => x.trim()).filter(Boolean);
      if (name === "bootstrap" || name === "mainlineBootstrap") items.forEach(parseHostPort);
      return items;
    }
  }
}

export function loadConfig(dataDir: string): Config {
  const file = path.join(dataDir, CONFIG_FILE);
  const config = defaultConfig();
  if (!fs.existsSync(file)) return config;
  let stored: Record<string, unknown>;
  try {
    stored = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new ConfigError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  for (const [name, value] of Object.entries(stored)) {
    if (!isSettingName(name)) continue; // settings of newer versions are kept but ignored
    (config as unknown as Record<string, unknown>)[name] = parseSetting(name, value);
  }
  return config;
}

/** Changes one setting in DATA_DIR/config.json (atomically) and returns the parsed value. */
export function saveSetting(dataDir: string, name: string, raw: unknown): number | string | string[] {
  const value = parseSetting(name, raw);
  const file = path.join(dataDir, CONFIG_FILE);
  let stored: Record<string, unknown> = {};
  if (fs.existsSync(file)) stored = JSON.parse(fs.readFileSync(file, "utf8"));
  stored[name] = value;
  fs.mkdirSync(dataDir, { recursive: true });
  writeFileAtomic(file, JSON.stringify(stored, null, 2) + "\n");
  return value;
}
