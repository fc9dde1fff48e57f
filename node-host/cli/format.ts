// Plain-text rendering of API results for the terminal (scripts use --json instead).

import { formatAddress } from "../nat/address";
import { routeText } from "../nat/reach-text";
import { AuditListing, ClosestResult, ContactInfo, ContentStatus, FolderListingInfo, LeftOutEntry, LookupResult, RoutingInfo, StoreListing, TeamMember, TeamSummary, TransferInfo, ValueRecordInfo } from "../rpc/api-types";

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ")).join("\n");
}

/** A byte count in B, KiB, MiB, GiB or TiB. */
export function humanBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** A fetch's progress bar line (on a terminal's stderr). */
export function progressLine(t: TransferInfo): string {
  const frac = t.bytesTotal ? t.bytesDone / t.bytesTotal : 0;
  const bar = "#".repeat(Math.round(frac * 24)).padEnd(24, "-");
  const eta = t.etaMs === null ? "" : ` ETA ${Math.ceil(t.etaMs / 1000)}s`;
  return `[${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${humanBytes(t.bytesDone)}/${humanBytes(t.bytesTotal)} ${humanBytes(t.rate)}/s ${t.holders} holder(s)${eta}`;
}

export function ago(ms: number, now = Date.now()): string {
  if (!ms) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

const shortId = (id: string) => id.slice(0, 16);
const rtt = (ms: number | null) => (ms === null ? "-" : `${ms.toFixed(1)} ms`);

export function formatPeers(peers: ContactInfo[]): string {
  if (peers.length === 0) return "no peers known (is a bootstrap contact configured?)";
  // the VIA column only where LAN discovery found someone: "lan", else "dht" (bootstrap contact or DHT traffic)
  const via = peers.some((p) => p.via);
  // the CONNECTION column only where a bulk connection is open: how it reaches the peer
  const routes = peers.some((p) => p.route);
  return table(
    ["ID", "ADDRESS", "STATE", "RTT", "LAST SEEN", ...(via ? ["VIA"] : []), ...(routes ? ["CONNECTION"] : [])],
    peers.map((p) => [shortId(p.id), formatAddress(p), p.state, rtt(p.rttMs), ago(p.lastSeen), ...(via ? [p.via ?? "dht"] : []), ...(routes ? [p.route ? routeText(p.route) : "-"] : [])]),
  );
}

export function formatRouting(r: RoutingInfo): string {
  const lines = [`routing table of ${r.self}: ${r.size} contacts in ${r.buckets.length} buckets (k = ${r.k})`];
  for (const b of r.buckets) {
    lines.push(`bucket ${b.index} (${b.contacts.length}/${r.k}, ${b.replacements} waiting, refreshed ${ago(b.lastRefreshed)})`);
    for (const c of b.contacts) lines.push(`  ${shortId(c.id)}  ${formatAddress(c).padEnd(21)}  ${c.state.padEnd(7)}  last seen ${ago(c.lastSeen)}`);
  }
  return lines.join("\n");
}

export function formatValue(v: ValueRecordInfo): string {
  return [v.encoding === "utf8" ? v.value : `(base64) ${v.value}`, `  key ${v.key}`, `  name "${v.name}" published by ${v.publisher}, seq ${v.seq}, expires ${new Date(v.expires).toISOString()}`].join("\n");
}

/** Bit length of an XOR distance (hex): 0 for the key itself, 256 for the farthest half of the space. */
export function distanceBits(hex: string): number {
  const i = hex.search(/[^0]/);
  return i < 0 ? 0 : (hex.length - i) * 4 - (Math.clz32(parseInt(hex[i], 16)) - 28);
}

/** A lookup's result; with `trace`, every node asked, hop by hop, with its distance, RTT and answer. */
/** Closest nodes taken as alive from the own table; a node of the previous release does not say. */
function vouchedNote(vouched: number | undefined): string {
  return vouched ? `, ${vouched} more heard from lately (not asked)` : "";
}

export function formatLookup(r: LookupResult, trace = false): string {
  const lines: string[] = [];
  if (r.value) lines.push(`value: ${formatValue(r.value)}`);
  else if (r.providers.length) lines.push(`${r.providers.length} provider(s):`, ...r.providers.map((p) => `  ${shortId(p.id)}  ${formatAddress(p)}`));
  else lines.push(`nothing stored under ${r.key}`);
  const answered = r.queried.filter((q) => q.ok).length;
  lines.push(`${r.hops} hop(s), ${r.queried.length} node(s) asked, ${answered} answered${vouchedNote(r.vouched)}, ${r.durationMs.toFixed(1)} ms${trace ? "" : " (--trace shows each hop)"}`);
  if (!trace) return lines.join("\n");
  const byHop = [...r.queried].sort((a, b) => a.hop - b.hop || distanceBits(a.distance) - distanceBits(b.distance));
  lines.push(
    table(
      ["HOP", "NODE", "ADDRESS", "DISTANCE", "BITS", "RTT", "ANSWER"],
      byHop.map((q) => [q.hop, shortId(q.id), formatAddress(q), `${q.distance.slice(0, 12)}…`, distanceBits(q.distance), q.ok ? rtt(q.rttMs) : "-", q.ok ? "answered" : q.pending ? "not yet" : "no answer"]),
    ),
  );
  return lines.join("\n");
}

export function formatClosest(r: ClosestResult): string {
  return [
    `${r.closest.length} closest to ${r.key} (${r.hops} hop(s), ${r.queried} asked${vouchedNote(r.vouched)}, ${r.durationMs.toFixed(1)} ms):`,
    table(["ID", "ADDRESS", "DISTANCE"], r.closest.map((c) => [c.id, formatAddress(c), c.distance.slice(0, 16) + "…"])),
  ].join("\n");
}

export function formatStatus(s: ContentStatus): string {
  const yesNo = (v: boolean | null) => (v === null ? "?" : v ? "yes" : "no");
  const state = (h: ContentStatus["holders"][number]) => (!h.live ? "not answering" : h.notCounted ? "live, not counted: not a member" : "live");
  const rows = s.holders.map((h) => [shortId(h.id) + (h.self ? " (this node)" : ""), formatAddress(h), state(h), yesNo(h.complete)]);
  return [
    `${s.contentId}`,
    `  ${s.liveHolders} live holder(s) of r = ${s.replication}: ${s.met ? "replication met" : `UNDER-REPLICATED${s.shortfall ? ` (${s.shortfall})` : ""}`}`,
    ...(s.repair ? [`  repair on this node: ${s.repair.busy ? "checking or copying it now" : s.repair.lastSweepAt ? `last sweep ${ago(s.repair.lastSweepAt)}` : "no sweep yet"}${s.met ? "" : " (peershare repair ID copies it now)"}`] : []),
    rows.length ? table(["HOLDER", "ADDRESS", "STATE", "ALL CHUNKS"], rows) : "  no node announced it",
  ].join("\n");
}

const until = (ms: number) => (ms >= Date.UTC(9999, 0, 1) ? "never" : new Date(ms).toISOString().slice(0, 16).replace("T", " "));

/** What the store holds (ls): each content with its pins and the chunks held here, then the totals. */
export function formatListing(r: StoreListing): string {
  return [
    table(
      ["CONTENT ID", "NAME", "SIZE", "PINNED", "HELD HERE"],
      r.contents.map((c) => [
        c.contentId,
        c.name ? c.name + (c.kind === "folder" ? "/" : "") : c.kind === "folder" ? "(private folder)" : "(private)",
        c.name ? humanBytes(c.size) : "?",
        c.pins.join(",") || "cache",
        c.chunksHeld === c.chunks ? "all" : c.chunksHeld === 0 ? "manifest only" : `${c.chunksHeld} of ${c.chunks} ${c.kind === "folder" ? "objects" : "chunks"}`,
      ]),
    ),
    `${r.objects} object(s), ${humanBytes(r.bytes)}; cache ${humanBytes(r.cacheBytes)} of ${humanBytes(r.cacheLimitBytes)}`,
  ].join("\n");
}

/** A shared folder's tree (ls LINK): one line per entry, indented by depth; entries a fetch would refuse say why. */
export function formatFolderTree(f: FolderListingInfo): string {
  const lines = [`${f.name}/  ${f.files} file(s), ${f.dirs} folder(s), ${humanBytes(f.size)}, ${f.public ? "public" : "private"}`];
  for (const e of f.entries) {
    const depth = e.path.split("/").length;
    const name = e.path.slice(e.path.lastIndexOf("/") + 1) + (e.kind === "dir" ? "/" : "");
    const detail = e.kind === "file" ? `  ${humanBytes(e.size)}${e.executable ? "  executable" : ""}` : "";
    lines.push(`${"  ".repeat(depth)}${JSON.stringify(name).slice(1, -1)}${detail}${e.refused ? `  REFUSED: ${e.refused}` : ""}`);
  }
  return lines.join("\n");
}

/** Entries left out of a share or refused by a fetch, under `title`; at most `max` lines, then how many more. */
export function formatEntries(title: string, entries: LeftOutEntry[], max = 20): string {
  if (entries.length === 0) return "";
  const lines = entries.slice(0, max).map((e) => `  ${e.path}: ${e.reason}`);
  if (entries.length > max) lines.push(`  … and ${entries.length - max} more (--json lists all)`);
  return [`${title} (${entries.length}):`, ...lines].join("\n");
}

export function formatTeams(teams: TeamSummary[]): string {
  if (teams.length === 0) return "this node is in no team (it serves its shares to any node with the link); create one with: peershare team create NAME";
  return table(
    ["TEAM", "KEY", "ROLE", "ADMIN", "MEMBERS SEEN", "REVOKED", "EXPIRES"],
    teams.map((t) => [t.name, shortId(t.teamKey), t.role, t.admin ? "yes" : "no", t.membersSeen, t.revoked, until(t.expires)]),
  );
}

export function formatMembers(members: TeamMember[]): string {
  return table(
    ["NODE", "ROLE", "STATE", "EXPIRES", "LAST SEEN"],
    members.map((m) => [m.self ? `${shortId(m.nodeId)} (this node)` : shortId(m.nodeId), m.role, m.revoked ? "revoked" : "member", until(m.expires), m.self ? "-" : ago(m.lastSeen ?? 0)]),
  );
}

export function formatAudit(a: AuditListing): string {
  const rows = a.entries.map((e) => [new Date(e.time).toISOString().slice(0, 19).replace("T", " "), shortId(e.contentId), shortId(e.node), e.outcome]);
  const body = rows.length ? table(["TIME", "CONTENT", "NODE", "OUTCOME"], rows) : "no requests for this node's shares yet";
  return a.intact ? body : `${body}\nWARNING: the audit log was altered at entry ${a.firstBadSeq}: entries from there on cannot be trusted`;
}
