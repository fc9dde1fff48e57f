// Presentation of dht.lookup results (quick pick rows and a log text). Pure.
import type { LookupResult, ValueRecordInfo } from "../node-host/rpc/api-types";
import { formatDistance, formatMs, formatRtt, pluralize, shortId } from "./format";

export interface PickRow {
  kind: "separator" | "item";
  label: string;
  description?: string;
  detail?: string;
  /** What choosing the row copies to the clipboard. */
  copyValue?: string;
}

export function lookupTitle(r: LookupResult): string {
  const found = r.value ? "value found" : r.providers.length ? pluralize(r.providers.length, "provider") : "no value";
  return `Lookup ${shortId(r.key, 12)}: ${found}, ${pluralize(r.hops, "hop")}, ${pluralize(r.queried.length, "node")} queried, ${formatMs(r.durationMs)}`;
}

export function valuePreview(v: ValueRecordInfo, max = 80): string {
  const text = v.encoding === "utf8" ? v.value : `base64:${v.value}`;
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function lookupRows(r: LookupResult): PickRow[] {
  const rows: PickRow[] = [];
  if (r.value) {
    rows.push({ kind: "separator", label: "Value" });
    rows.push({
      kind: "item",
      label: `$(symbol-string) ${valuePreview(r.value)}`,
      description: `"${r.value.name}" · seq ${r.value.seq}`,
      detail: `published by ${shortId(r.value.publisher, 16)} · expires ${new Date(r.value.expires).toISOString()}`,
      copyValue: r.value.value,
    });
  }
  if (r.providers.length) {
    rows.push({ kind: "separator", label: "Providers" });
    for (const p of r.providers) {
      rows.push({ kind: "item", label: `$(server) ${shortId(p.id, 16)}`, description: `${p.host}:${p.port}`, copyValue: p.id });
    }
  }
  rows.push({ kind: "separator", label: `Closest nodes (${r.closest.length})` });
  if (!r.closest.length) rows.push({ kind: "item", label: "$(info) No nodes answered" });
  for (const c of r.closest) {
    rows.push({
      kind: "item",
      label: `$(${c.id === r.key ? "target" : "circle-filled"}) ${shortId(c.id, 16)}`,
      description: `${c.host}:${c.port} · ${formatRtt(c.rttMs)}`,
      copyValue: c.id,
    });
  }
  const byHop = [...r.queried].sort((a, b) => a.hop - b.hop || a.distance.localeCompare(b.distance));
  const vouched = r.vouched ? `, ${r.vouched} more of the closest heard from lately (not asked)` : "";
  rows.push({ kind: "separator", label: `Route: ${pluralize(r.hops, "hop")}, ${pluralize(r.queried.length, "node")} queried${vouched}` });
  for (const q of byHop) {
    rows.push({
      kind: "item",
      label: `$(${q.ok ? "arrow-right" : q.pending ? "watch" : "error"}) hop ${q.hop}: ${shortId(q.id, 16)}`,
      description: `d ${formatDistance(q.distance)} · ${q.host}:${q.port} · ${q.ok ? formatRtt(q.rttMs) : q.pending ? "no answer yet (lookup done)" : "no answer"}`,
      copyValue: q.id,
    });
  }
  return rows;
}

/** Multi-line text of a lookup for the log. */
export function lookupLog(r: LookupResult): string {
  const lines = [lookupTitle(r), `  key ${r.key}`];
  if (r.value) lines.push(`  value (${r.value.encoding}) "${r.value.name}" seq ${r.value.seq}: ${valuePreview(r.value, 200)}`);
  for (const p of r.providers) lines.push(`  provider ${p.id} ${p.host}:${p.port}`);
  for (const c of r.closest) lines.push(`  closest ${c.id} ${c.host}:${c.port}`);
  for (const q of [...r.queried].sort((a, b) => a.hop - b.hop)) {
    lines.push(`  hop ${q.hop} ${q.ok ? "ok " : q.pending ? "..." : "ERR"} ${q.id} ${q.host}:${q.port} d=${formatDistance(q.distance)} ${formatRtt(q.rttMs)}`);
  }
  return lines.join("\n");
}
