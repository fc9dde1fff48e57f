// Turns node-host API results into plain tree-node descriptions. views.ts maps them onto
// vscode.TreeItem; keeping the mapping here lets it be tested without VS Code.
import type { BucketInfo, ContactInfo, RoutingInfo } from "../node-host/rpc/api-types";
import { formatAgo, formatDistance, formatRtt, pluralize, shortId } from "./format";

export interface IconSpec {
  /** Codicon name. */
  id: string;
  /** Theme color id, if any. */
  color?: string;
}

export interface TreeNode {
  /** Stable id across refreshes (keeps expansion state). */
  key: string;
  label: string;
  description?: string;
  /** Markdown tooltip. */
  tooltip?: string;
  icon?: IconSpec;
  contextValue?: string;
  /** The value a "copy" action on this node copies. */
  copyValue?: string;
  /** In the Teams view: the key of the team the row is (or whose member it is). */
  team?: string;
  children?: TreeNode[];
  expanded?: boolean;
  /** What a click (and the Open action) opens: a shared file by its link, or a local file. */
  open?: { kind: "link"; link: string; name?: string } | { kind: "file"; path: string };
}

const STATE_ICONS: Record<ContactInfo["state"], IconSpec> = {
  online: { id: "pass-filled", color: "testing.iconPassed" },
  suspect: { id: "warning", color: "list.warningForeground" },
  offline: { id: "circle-slash", color: "disabledForeground" },
};

/** Hex digits of a node ID shown in tree labels (the full ID is in the tooltip). */
export const LABEL_DIGITS = 8;

const STATE_ORDER: Record<ContactInfo["state"], number> = { online: 0, suspect: 1, offline: 2 };

export function stateIcon(state: ContactInfo["state"]): IconSpec {
  return STATE_ICONS[state] ?? { id: "question" };
}

function contactTooltip(c: ContactInfo, now: number, distance?: string): string {
  const lines = [
    `**Peer** \`${c.id}\``,
    "",
    `- State: ${c.state}${c.failures ? ` (${pluralize(c.failures, "failed request")})` : ""}`,
    `- Address: ${c.host}:${c.port}`,
    `- Round trip: ${formatRtt(c.rttMs)}`,
    `- Last seen: ${c.lastSeen ? `${formatAgo(c.lastSeen, now)} (${new Date(c.lastSeen).toISOString()})` : "never"}`,
  ];
  if (distance !== undefined) lines.push(`- XOR distance: ${formatDistance(distance)} (\`${distance}\`)`);
  return lines.join("\n");
}

/** One row per peer: online first, then by RTT, then by ID. */
export function peerNodes(peers: ContactInfo[], now: number): TreeNode[] {
  const sorted = [...peers].sort(
    (a, b) =>
      STATE_ORDER[a.state] - STATE_ORDER[b.state] ||
      (a.rttMs ?? Number.MAX_VALUE) - (b.rttMs ?? Number.MAX_VALUE) ||
      a.id.localeCompare(b.id),
  );
  return sorted.map((c) => ({
    key: `peer:${c.id}`,
    label: shortId(c.id, LABEL_DIGITS),
    description: [formatRtt(c.rttMs), formatAgo(c.lastSeen, now), `${c.host}:${c.port}`].join(" · "),
    tooltip: contactTooltip(c, now),
    icon: stateIcon(c.state),
    contextValue: `peer.${c.state}`,
    copyValue: c.id,
  }));
}

export function bucketNode(bucket: BucketInfo, now: number): TreeNode {
  const contacts = [...bucket.contacts].sort((a, b) => a.distance.localeCompare(b.distance));
  const desc = [pluralize(bucket.contacts.length, "contact")];
  if (bucket.replacements) desc.push(`${bucket.replacements} in replacement cache`);
  return {
    key: `bucket:${bucket.index}`,
    label: `Bucket ${bucket.index}`,
    description: desc.join(" · "),
    tooltip: [
      `**Bucket ${bucket.index}**: contacts whose XOR distance is in [2^${bucket.index}, 2^${bucket.index + 1})`,
      "",
      `- Contacts: ${bucket.contacts.length}`,
      `- Replacement cache: ${bucket.replacements}`,
      `- Last refreshed: ${formatAgo(bucket.lastRefreshed, now)}`,
    ].join("\n"),
    icon: { id: "layers" },
    contextValue: "bucket",
    expanded: true,
    children: contacts.map((c) => ({
      key: `bucket:${bucket.index}:${c.id}`,
      label: shortId(c.id, LABEL_DIGITS),
      description: [`d ${formatDistance(c.distance)}`, formatRtt(c.rttMs), `${c.host}:${c.port}`].join(" · "),
      tooltip: contactTooltip(c, now, c.distance),
      icon: stateIcon(c.state),
      contextValue: `contact.${c.state}`,
      copyValue: c.id,
    })),
  };
}

/** Non-empty buckets, nearest (lowest index) first. */
export function routingNodes(routing: RoutingInfo, now: number): TreeNode[] {
  return routing.buckets
    .filter((b) => b.contacts.length > 0 || b.replacements > 0)
    .sort((a, b) => a.index - b.index)
    .map((b) => bucketNode(b, now));
}

/** Short summary shown as the Routing Table view's description. */
export function routingSummary(routing: RoutingInfo): string {
  const used = routing.buckets.filter((b) => b.contacts.length > 0).length;
  return `${pluralize(routing.size, "contact")} in ${pluralize(used, "bucket")} · k=${routing.k}`;
}

/** Peer count summary for the status bar. */
export function peerCounts(peers: ContactInfo[]): { online: number; total: number } {
  return { online: peers.filter((p) => p.state === "online").length, total: peers.length };
}
