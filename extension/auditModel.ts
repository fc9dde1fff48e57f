// The Fetch Audit view: who asked this node for its own shares (audit.list), grouped by share,
// newest first, refusals marked, and a clear warning when the log's hash chain does not verify. Pure.
import type { AuditEntryInfo, AuditListing, ContactInfo } from "../node-host/rpc/api-types";
import { formatAgo, pluralize, shortId } from "./format";
import type { TreeNode } from "./treeModel";

/** Shares listed, and rows per share (the node keeps a bounded log; the view shows its newest part). */
export const MAX_GROUPS = 100;
export const MAX_ROWS_PER_SHARE = 50;

export const AUDIT_BROKEN_KEY = "audit:broken";

/** The warning shown when the log does not verify; undefined when it does. */
export function auditWarning(listing: AuditListing): string | undefined {
  if (listing.intact) return undefined;
  const from = listing.firstBadSeq === null ? "" : ` from entry #${listing.firstBadSeq} on`;
  return `The fetch audit log does not verify${from}: entries were edited, reordered or removed. Rows${from ? " from there" : ""} cannot be trusted.`;
}

function isUnverified(listing: AuditListing, e: AuditEntryInfo): boolean {
  return !listing.intact && (listing.firstBadSeq === null || e.seq >= listing.firstBadSeq);
}

function entryNode(listing: AuditListing, e: AuditEntryInfo, shareName: string, now: number, peer: ContactInfo | undefined): TreeNode {
  const refused = e.outcome === "refused";
  const unverified = isUnverified(listing, e);
  return {
    key: `audit:entry:${e.seq}`,
    label: shortId(e.node, 8),
    description: [e.outcome, formatAgo(e.time, now), peer ? `${peer.host}:${peer.port}` : undefined, `#${e.seq}`, unverified ? "not verified" : undefined]
      .filter(Boolean)
      .join(" · "),
    tooltip: [
      `**${refused ? "Refused" : "Served"}**: ${shareName}`,
      "",
      `- Node: \`${e.node}\`${peer ? ` (${peer.host}:${peer.port})` : ""}`,
      `- When: ${new Date(e.time).toISOString()} (${formatAgo(e.time, now)})`,
      `- Content ID: \`${e.contentId}\``,
      `- Entry #${e.seq}${unverified ? ": **not verified** (the log's hash chain breaks at or before it)" : ""}`,
      refused ? "- The node was refused by this node's access policy (not a member of a team the share is for)." : undefined,
    ]
      .filter((l) => l !== undefined)
      .join("\n"),
    icon: unverified
      ? { id: "error", color: "errorForeground" }
      : refused
        ? { id: "warning", color: "list.warningForeground" }
        : { id: "pass", color: "testing.iconPassed" },
    contextValue: refused ? "auditEntry.refused" : "auditEntry.served",
    copyValue: e.node,
  };
}

/**
 * One row per share (its name from `nameOf`, else a short content ID; shares with the newest
 * fetch first), its fetches as children (newest first). `peers` adds a requester's address when
 * this node knows it. A first row warns when the log does not verify.
 */
export function auditNodes(
  listing: AuditListing,
  nameOf: (contentId: string) => string | undefined,
  now: number,
  peers: ReadonlyMap<string, ContactInfo> = new Map(),
): TreeNode[] {
  const byShare = new Map<string, AuditEntryInfo[]>();
  for (const e of listing.entries) {
    let list = byShare.get(e.contentId);
    if (!list) byShare.set(e.contentId, (list = []));
    list.push(e);
  }
  const groups = [...byShare.entries()].map(([contentId, entries]) => {
    const sorted = [...entries].sort((a, b) => b.seq - a.seq);
    return { contentId, entries: sorted, newest: sorted[0].seq };
  });
  groups.sort((a, b) => b.newest - a.newest);
  const out: TreeNode[] = [];
  const warning = auditWarning(listing);
  if (warning) {
    out.push({
      key: AUDIT_BROKEN_KEY,
      label: "Audit log does not verify",
      description: listing.firstBadSeq === null ? undefined : `from entry #${listing.firstBadSeq}`,
      tooltip: `**${warning}**\n\nThe log is append-only and hash-chained; each entry is signed by this node. A break means the file was changed outside the node.`,
      icon: { id: "error", color: "errorForeground" },
      contextValue: "audit.broken",
    });
  }
  for (const g of groups.slice(0, MAX_GROUPS)) {
    const name = nameOf(g.contentId) ?? shortId(g.contentId, 12);
    const refused = g.entries.filter((e) => e.outcome === "refused").length;
    const served = g.entries.length - refused;
    const children = g.entries.slice(0, MAX_ROWS_PER_SHARE).map((e) => entryNode(listing, e, name, now, peers.get(e.node)));
    if (g.entries.length > MAX_ROWS_PER_SHARE) {
      children.push({ key: `audit:more:${g.contentId}`, label: `${g.entries.length - MAX_ROWS_PER_SHARE} older not shown`, icon: { id: "ellipsis" }, contextValue: "audit.more" });
    }
    out.push({
      key: `audit:share:${g.contentId}`,
      label: name,
      description: [served ? `${served} served` : undefined, refused ? `${refused} refused` : undefined, `last ${formatAgo(g.entries[0].time, now)}`].filter(Boolean).join(" · "),
      tooltip: [`**${name}**`, "", `- Content ID: \`${g.contentId}\``, `- ${pluralize(served, "fetch", "fetches")} served, ${refused} refused`].join("\n"),
      icon: refused ? { id: "warning", color: "list.warningForeground" } : { id: "cloud-upload" },
      contextValue: "audit.share",
      copyValue: g.contentId,
      expanded: true,
      children,
    });
  }
  if (groups.length > MAX_GROUPS) out.push({ key: "audit:more", label: `${groups.length - MAX_GROUPS} more shares not shown`, icon: { id: "ellipsis" }, contextValue: "audit.more" });
  return out;
}

/** The view's description: "5 served · 1 refused". */
export function auditDescription(listing: AuditListing): string | undefined {
  if (!listing.entries.length) return listing.intact ? undefined : "does not verify";
  const refused = listing.entries.filter((e) => e.outcome === "refused").length;
  const served = listing.entries.length - refused;
  return [`${served} served`, refused ? `${refused} refused` : undefined, listing.intact ? undefined : "does not verify"].filter(Boolean).join(" · ");
}
