// The extension's `peershare.*` settings: how they become node-host arguments at start and
// config.set calls while it runs. Pure; workspaceSettings.ts reads the values from VS Code.
import type { ConfigValues } from "../node-host/rpc/api-types";

export interface PeershareSettings {
  bootstrapPeers: string[];
  listenPort: number;
  listenHost: string;
  replicationFactor: number;
  k: number;
  alpha: number;
  cacheSizeMB: number;
  iceServers: string[];
  /** Always move file bytes over WebRTC (node config bulkPath "webrtc"), even when a direct TLS path exists. */
  forceWebRtc: boolean;
  /** Sharing a file larger than this many MB asks for confirmation first (node config shareWarnMB; 0 = never). */
  shareWarnMB: number;
  /** Announce the node on the LAN and join nodes found there (node config lanDiscovery "on" | "off"). */
  lanDiscovery: boolean;
  /** Node.js executable for the node-host; empty = the extension host's own runtime. */
  nodePath: string;
}

export type SettingKey = keyof PeershareSettings;

export const DEFAULT_SETTINGS: PeershareSettings = {
  bootstrapPeers: [],
  listenPort: 0,
  listenHost: "",
  replicationFactor: 3,
  k: 20,
  alpha: 3,
  cacheSizeMB: 1024,
  iceServers: [],
  forceWebRtc: false,
  shareWarnMB: 1024,
  lanDiscovery: true,
  nodePath: "",
};

export const SETTING_KEYS = Object.keys(DEFAULT_SETTINGS) as SettingKey[];

/** Settings given to the node as command-line arguments: a change needs a restart. */
export const START_ONLY: ReadonlySet<SettingKey> = new Set<SettingKey>(["bootstrapPeers", "listenPort", "listenHost", "nodePath"]);

/**
 * Setting → name of the node's setting (config.get / config.set). Settings the running node does
 * not report in config.get are left alone (an older node-host does not know them yet).
 */
export const CONFIG_KEYS: Partial<Record<SettingKey, string>> = {
  replicationFactor: "replication",
  k: "k",
  alpha: "alpha",
  cacheSizeMB: "cacheSizeMB",
  iceServers: "iceServers",
  forceWebRtc: "bulkPath",
  shareWarnMB: "shareWarnMB",
  lanDiscovery: "lanDiscovery",
};

/** The node's value for a setting, where it differs in type or meaning from the extension's. */
export function nodeValue(setting: SettingKey, s: PeershareSettings): PeershareSettings[SettingKey] {
  if (setting === "forceWebRtc") return s.forceWebRtc ? "webrtc" : "auto";
  if (setting === "lanDiscovery") return s.lanDiscovery ? "on" : "off";
  return s[setting];
}

/** Keys the extension syncs into the node's config after it starts (bootstrap peers go on the command line). */
export const SYNCED_AT_START: SettingKey[] = ["replicationFactor", "k", "alpha", "cacheSizeMB", "iceServers", "forceWebRtc", "shareWarnMB", "lanDiscovery"];

/** Coerces raw values (from VS Code's configuration) into settings, falling back to defaults. */
export function normalizeSettings(raw: Partial<Record<SettingKey, unknown>>): PeershareSettings {
  const strList = (v: unknown, d: string[]) =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === "string").map((x) => x.trim()).filter(Boolean) : d;
  const int = (v: unknown, d: number, min: number, max: number) =>
    typeof v === "number" && Number.isInteger(v) && v >= min && v <= max ? v : d;
  const str = (v: unknown, d: string) => (typeof v === "string" ? v.trim() : d);
  const d = DEFAULT_SETTINGS;
  return {
    bootstrapPeers: strList(raw.bootstrapPeers, d.bootstrapPeers),
    listenPort: int(raw.listenPort, d.listenPort, 0, 65535),
    listenHost: str(raw.listenHost, d.listenHost),
    replicationFactor: int(raw.replicationFactor, d.replicationFactor, 1, 20),
    k: int(raw.k, d.k, 2, 64),
    alpha: int(raw.alpha, d.alpha, 1, 16),
    cacheSizeMB: int(raw.cacheSizeMB, d.cacheSizeMB, 16, 1_048_576),
    iceServers: strList(raw.iceServers, d.iceServers),
    forceWebRtc: typeof raw.forceWebRtc === "boolean" ? raw.forceWebRtc : d.forceWebRtc,
    shareWarnMB: int(raw.shareWarnMB, d.shareWarnMB, 0, 1_048_576),
    lanDiscovery: typeof raw.lanDiscovery === "boolean" ? raw.lanDiscovery : d.lanDiscovery,
    nodePath: str(raw.nodePath, d.nodePath),
  };
}

/** Arguments of `cli.js serve --stdio ...` for these settings. */
export function serveArgs(script: string, dataDir: string, s: PeershareSettings): string[] {
  const args = [script, "serve", "--stdio", "--data-dir", dataDir, "--port", String(s.listenPort)];
  if (s.listenHost) args.push("--host", s.listenHost);
  for (const b of s.bootstrapPeers) args.push("--bootstrap", b);
  return args;
}

function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => String(x) === String(b[i]));
  if (Array.isArray(a) || Array.isArray(b)) return false;
  return String(a) === String(b);
}

/** The settings whose values differ between two snapshots. */
export function changedKeys(before: PeershareSettings, after: PeershareSettings): SettingKey[] {
  return SETTING_KEYS.filter((k) => !same(before[k], after[k]));
}

/** config.set takes strings: numbers as decimal text, lists comma-separated. */
export function encodeConfigValue(v: PeershareSettings[SettingKey]): string {
  return Array.isArray(v) ? v.join(",") : String(v);
}

export interface ConfigChange {
  setting: SettingKey;
  key: string;
  value: string;
}

/**
 * The config.set calls that bring the node's config in line with the settings, for `keys`.
 * Keys the node does not report in config.get are skipped (it does not know them). Values equal to
 * the running node's are skipped too, unless `always` (a setting the user just changed: config.get
 * reports what the node runs with, while the node's saved config may hold a value set earlier for
 * its next start, so the change must be written even when it equals the running value).
 */
export function configChanges(settings: PeershareSettings, nodeConfig: ConfigValues, keys: SettingKey[], always = false): ConfigChange[] {
  const out: ConfigChange[] = [];
  for (const setting of keys) {
    const key = CONFIG_KEYS[setting];
    if (!key || !(key in nodeConfig)) continue;
    const value = nodeValue(setting, settings);
    if (!always && same(value, nodeConfig[key])) continue;
    out.push({ setting, key, value: encodeConfigValue(value) });
  }
  return out;
}

/** Settings among `keys` that the node does not know (absent from its config.get). */
export function unsupportedKeys(nodeConfig: ConfigValues, keys: SettingKey[]): SettingKey[] {
  return keys.filter((k) => !START_ONLY.has(k) && !(CONFIG_KEYS[k] && CONFIG_KEYS[k] in nodeConfig));
}

/** Splits changed settings into those applied through config.set and those needing a restart. */
export function planSettingsChange(keys: SettingKey[]): { live: SettingKey[]; restart: SettingKey[] } {
  const live: SettingKey[] = [];
  const restart: SettingKey[] = [];
  for (const k of keys) (START_ONLY.has(k) || !CONFIG_KEYS[k] ? restart : live).push(k);
  return { live, restart };
}
