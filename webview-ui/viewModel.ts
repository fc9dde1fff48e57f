// What a transfer row shows: percentages and texts computed from a TransferRow. Pure.
import type { NodeStatus, TransferAction, TransferRow } from "./protocol";
import { formatBytes, formatDuration, formatRate, shortId } from "../extension/format";

export interface RowView {
  id: string;
  name: string;
  directionIcon: string;
  percent: number;
  progressText: string;
  rateText: string;
  holdersText: string;
  holdersTitle: string;
  etaText: string;
  stateText: string;
  actions: TransferAction[];
}

export function rowView(t: TransferRow): RowView {
  const percent = t.totalBytes > 0 ? Math.min(100, Math.max(0, (t.doneBytes / t.totalBytes) * 100)) : t.state === "done" ? 100 : 0;
  const actions: TransferAction[] = [];
  if (t.state === "active" || t.state === "queued") actions.push("pause");
  if (t.state === "paused" || t.state === "failed") actions.push("resume");
  if (t.state !== "done" && t.state !== "cancelled") actions.push("cancel");
  if (t.state === "done" && t.path) actions.push("open");
  const active = t.state === "active";
  const details = t.holderDetails ?? [];
  return {
    id: t.id,
    name: t.name || shortId(t.contentId, 12),
    directionIcon: t.direction === "download" ? "↓" : "↑",
    percent,
    progressText: `${formatBytes(t.doneBytes)} / ${formatBytes(t.totalBytes)} (${percent.toFixed(percent >= 10 || percent === 0 ? 0 : 1)}%)`,
    rateText: active || (t.state === "done" && t.rateBps > 0) ? formatRate(t.rateBps) : "—",
    holdersText: String(t.holders),
    holdersTitle: details.length
      ? details.map((h) => [shortId(h.id, 12), h.rateBps !== undefined ? formatRate(h.rateBps) : null, h.route ?? null].filter((x) => x !== null).join("  ")).join("\n")
      : `${t.holders} ${t.holders === 1 ? "holder" : "holders"}`,
    etaText: active ? formatDuration(t.etaSec) : t.state === "done" ? "done" : "—",
    stateText: t.state === "failed" && t.error ? `failed: ${t.error}` : t.state,
    actions,
  };
}

export function statusText(s: NodeStatus | undefined): { headline: string; detail: string } {
  if (!s) return { headline: "Connecting to the node…", detail: "" };
  switch (s.state) {
    case "running":
      return {
        headline: `Node ${shortId(s.id ?? "", 16)} is running`,
        detail: [`${s.host ?? "?"}:${s.port ?? "?"}`, `${s.onlinePeers} of ${s.peers} peers online`, s.version ? `v${s.version}` : ""]
          .filter(Boolean)
          .join(" · "),
      };
    case "starting":
      return { headline: "Node is starting…", detail: s.detail ?? "" };
    case "restarting":
      return { headline: "Node is restarting", detail: s.detail ?? "" };
    case "failed":
      return { headline: "Node has stopped", detail: s.detail ?? "" };
    case "stopped":
      return { headline: "Node is stopped", detail: s.detail ?? "" };
  }
}
