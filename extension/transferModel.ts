// Transfers as the extension shows them: node-host TransferInfo → the panel's TransferRow, the
// set of known transfers (from transfer.progress notifications and transfer.list), and the
// status bar's summary. Pure.
import type { TransferInfo } from "../node-host/rpc/api-types";
import type { TransferRow, TransferState } from "../webview-ui/protocol";
import { routeText } from "../node-host/nat/reach-text";
import { formatBytes, formatRate, pluralize, shortId } from "./format";

const STATES: Record<TransferInfo["state"], TransferState> = {
  running: "active",
  paused: "paused",
  done: "done",
  failed: "failed",
  cancelled: "cancelled",
};

/**
 * The panel row of a transfer. While it runs, the rate is the node's current rate; once done, the
 * average over the whole transfer (`finishedAt` is when it was seen done), so a finished row still
 * tells how fast it went.
 */
export function toTransferRow(t: TransferInfo, finishedAt?: number): TransferRow {
  const state = STATES[t.state] ?? "failed";
  let rate = Number.isFinite(t.rate) && t.rate > 0 ? t.rate : 0;
  if (state === "done") {
    const seconds = finishedAt !== undefined ? (finishedAt - t.startedAt) / 1000 : 0;
    const total = t.bytesTotal || t.bytesDone;
    if (seconds > 0 && total > 0) rate = total / Math.max(seconds, 0.001);
  }
  const row: TransferRow = {
    id: t.id,
    name: t.name,
    direction: t.direction === "download" ? "download" : "upload",
    contentId: t.contentId,
    totalBytes: t.bytesTotal,
    doneBytes: state === "done" && t.bytesTotal ? t.bytesTotal : t.bytesDone,
    rateBps: rate,
    holders: t.holders,
    etaSec: t.etaMs === null || t.etaMs === undefined ? null : t.etaMs / 1000,
    state,
  };
  if (t.routes?.length) row.holderDetails = t.routes.map((r) => ({ id: r.node, route: routeText(r) }));
  if (t.error) row.error = t.error;
  if (t.path) row.path = t.path;
  return row;
}

export function isActive(t: Pick<TransferInfo, "state">): boolean {
  return t.state === "running";
}

/** Transfers known to this window, newest first; remembers when each was first seen finished. */
export class TransferSet {
  private readonly byId = new Map<string, { info: TransferInfo; finishedAt?: number }>();

  /** Applies one notification (or a transfer.list entry); returns its row. */
  update(info: TransferInfo, now = Date.now()): TransferRow {
    const prev = this.byId.get(info.id);
    let finishedAt = prev?.finishedAt;
    if (info.state === "done" && finishedAt === undefined) finishedAt = Math.max(now, info.startedAt);
    if (info.state !== "done") finishedAt = undefined;
    this.byId.set(info.id, { info, finishedAt });
    return toTransferRow(info, finishedAt);
  }

  /** Merges a transfer.list answer (which may be older than notifications already seen). */
  merge(list: TransferInfo[], now = Date.now()): void {
    for (const t of list) {
      const prev = this.byId.get(t.id);
      if (prev && prev.info.state !== "running" && t.state === "running") continue;
      if (prev && prev.info.state === t.state && prev.info.bytesDone > t.bytesDone) continue;
      this.update(t, now);
    }
  }

  get(id: string): TransferInfo | undefined {
    return this.byId.get(id)?.info;
  }

  rows(): TransferRow[] {
    return [...this.byId.values()].sort((a, b) => b.info.startedAt - a.info.startedAt).map((e) => toTransferRow(e.info, e.finishedAt));
  }

  active(): TransferInfo[] {
    return [...this.byId.values()].map((e) => e.info).filter(isActive);
  }
}

/** Status bar text and tooltip for the active transfers; undefined when there are none. */
export function transfersStatus(active: TransferInfo[]): { text: string; tooltip: string } | undefined {
  if (!active.length) return undefined;
  const done = active.reduce((n, t) => n + t.bytesDone, 0);
  const total = active.reduce((n, t) => n + t.bytesTotal, 0);
  const rate = active.reduce((n, t) => n + (t.rate > 0 ? t.rate : 0), 0);
  const pct = total > 0 ? ` ${Math.floor((done / total) * 100)}%` : "";
  return {
    text: `$(cloud-download) ${active.length}${pct}`,
    tooltip: [
      `peershare: ${pluralize(active.length, "active transfer")}, ${formatBytes(done)} of ${formatBytes(total)} at ${formatRate(rate)}`,
      ...active.slice(0, 5).map((t) => `${t.name || shortId(t.contentId, 12)}: ${formatBytes(t.bytesDone)} / ${formatBytes(t.bytesTotal)}`),
    ].join("\n"),
  };
}
