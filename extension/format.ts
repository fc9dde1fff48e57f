// Formatting of node-host API values for display. Pure functions, no VS Code API.

/** The first `n` hex digits of an ID followed by an ellipsis. */
export function shortId(id: string, n = 8): string {
  if (!id) return "";
  return id.length <= n ? id : `${id.slice(0, n)}…`;
}

export function formatRtt(rttMs: number | null | undefined): string {
  if (rttMs === null || rttMs === undefined || !Number.isFinite(rttMs)) return "rtt —";
  if (rttMs < 1) return "<1 ms";
  if (rttMs < 10) return `${rttMs.toFixed(1)} ms`;
  return `${Math.round(rttMs)} ms`;
}

/** "just now", "12s ago", "5m ago", "3h ago", "2d ago"; "never" for 0. */
export function formatAgo(timestampMs: number, nowMs: number): string {
  if (!timestampMs) return "never";
  const s = Math.max(0, Math.floor((nowMs - timestampMs) / 1000));
  if (s < 2) return "just now";
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.floor(h / 24)}d ago`;
}

const UNITS = ["B", "KB", "MB", "GB", "TB"];

/** Bytes with SI units: 999 B, 1.2 KB, 34.5 MB. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "—";
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < UNITS.length - 1) {
    v /= 1000;
    u++;
  }
  if (u === 0) return `${Math.round(v)} B`;
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v)} ${UNITS[u]}`;
}

export function formatRate(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond < 0) return "—";
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Seconds as "45s", "3m 20s", "1h 05m"; "—" when unknown. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, "0")}m`;
}

/** Milliseconds of a lookup or request: "850 ms", "1.25 s". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/**
 * Bit length of an XOR distance given in hex: 0 for identical IDs, 256 for the far half.
 * Kademlia's "log distance", which is what matters when reading a routing table.
 */
export function distanceBits(distanceHex: string): number {
  const hex = distanceHex.replace(/^0x/i, "").toLowerCase();
  for (let i = 0; i < hex.length; i++) {
    const d = parseInt(hex[i], 16);
    if (Number.isNaN(d)) return 0;
    if (d !== 0) return (hex.length - i) * 4 - (Math.clz32(d) - 28);
  }
  return 0;
}

/** "2^253" style rendering of an XOR distance. */
export function formatDistance(distanceHex: string): string {
  const bits = distanceBits(distanceHex);
  return bits === 0 ? "0" : `2^${bits - 1}`;
}

export function pluralize(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export const HEX_KEY = /^[0-9a-f]{64}$/;

/** Normalises a user-typed key (trims, lower-cases, drops a 0x prefix); undefined when it is not 64 hex digits. */
export function normalizeKey(input: string): string | undefined {
  const k = input.trim().toLowerCase().replace(/^0x/, "");
  return HEX_KEY.test(k) ? k : undefined;
}

/** Validates "host:port" (IPv4, hostname, or [IPv6]); returns an error text or undefined. */
export function validateHostPort(value: string): string | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value.trim());
  if (!m) return `"${value}" is not HOST:PORT`;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return `port ${port} is out of range`;
  return undefined;
}
