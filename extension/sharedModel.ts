// The Shared Files view: this node's own shares (the node's store listing plus what this window
// shared, which knows the links) and the files fetched from peers. Pure.
import type { StoreListing } from "../node-host/rpc/api-types";
import { formatAgo, formatBytes, shortId } from "./format";
import type { TreeNode } from "./treeModel";

/** A file this window shared (kept in the workspace state). */
export interface ShareRecord {
  contentId: string;
  link: string;
  name: string;
  size: number;
  public: boolean;
  sharedAt: number;
  /** The shared file on this machine. */
  path?: string;
}

/** A file this window fetched. */
export interface FetchRecord {
  contentId: string;
  link: string;
  name: string;
  size: number;
  path: string;
  fetchedAt: number;
}

export const MAX_RECORDS = 200;

/** Adds or replaces (by content ID) a record, newest first, bounded. */
export function remember<T extends { contentId: string }>(list: readonly T[], record: T, max = MAX_RECORDS): T[] {
  return [record, ...list.filter((r) => r.contentId !== record.contentId)].slice(0, max);
}

/** For fetched files the key is the path: the same content may be fetched into two folders. */
export function rememberFetch(list: readonly FetchRecord[], record: FetchRecord, max = MAX_RECORDS): FetchRecord[] {
  return [record, ...list.filter((r) => r.path !== record.path)].slice(0, max);
}

export const SHARED_ROOT = "shared:own";
export const FETCHED_ROOT = "shared:fetched";

function tooltip(lines: (string | undefined)[]): string {
  return lines.filter((l) => l !== undefined).join("\n");
}

export function sharedNodes(own: readonly ShareRecord[], fetched: readonly FetchRecord[], listing: StoreListing | undefined, now: number): TreeNode[] {
  const byId = new Map(own.map((r) => [r.contentId, r]));
  const shares: TreeNode[] = own.map((r) => ({
    key: `share:${r.contentId}`,
    label: r.name,
    description: [formatBytes(r.size), shortId(r.contentId, 8), r.public ? "public" : undefined, formatAgo(r.sharedAt, now)].filter(Boolean).join(" · "),
    tooltip: tooltip([
      `**${r.name}** (shared by this node)`,
      "",
      `- Content ID: \`${r.contentId}\``,
      `- Size: ${formatBytes(r.size)} (${r.size} bytes)`,
      `- ${r.public ? "Public: anyone with the ID can read it" : "Private: readable with the link, which carries the key"}`,
      r.path ? `- From: ${r.path}` : undefined,
      `- Shared: ${new Date(r.sharedAt).toISOString()}`,
    ]),
    icon: { id: "cloud-upload" },
    contextValue: "share.own",
    copyValue: r.link,
    open: { kind: "link", link: r.link, name: r.name },
  }));
  // Shares of this node that this window did not make (another window, the CLI, an earlier workspace).
  for (const c of listing?.contents ?? []) {
    if (!c.pins.includes("own") || byId.has(c.contentId)) continue;
    shares.push({
      key: `share:${c.contentId}`,
      label: c.name ?? shortId(c.contentId, 12),
      description: [c.name ? formatBytes(c.size) : undefined, shortId(c.contentId, 8), "in the store"].filter(Boolean).join(" · "),
      tooltip: tooltip([
        `**${c.name ?? "(private share)"}** (in this node's store)`,
        "",
        `- Content ID: \`${c.contentId}\``,
        c.name ? `- Size: ${formatBytes(c.size)}` : undefined,
        "- Shared from elsewhere: its link (with the key of a private share) is with whoever shared it; Copy Link copies the content ID.",
      ]),
      icon: { id: "cloud-upload" },
      contextValue: "share.own.id",
      copyValue: c.contentId,
      open: { kind: "link", link: c.contentId, name: c.name ?? undefined },
    });
  }
  const fetchedNodes: TreeNode[] = fetched.map((r) => ({
    key: `fetched:${r.path}`,
    label: r.name,
    description: [formatBytes(r.size), shortId(r.contentId, 8), formatAgo(r.fetchedAt, now)].join(" · "),
    tooltip: tooltip([
      `**${r.name}** (fetched)`,
      "",
      `- Content ID: \`${r.contentId}\``,
      `- Size: ${formatBytes(r.size)} (${r.size} bytes)`,
      `- Saved to: ${r.path}`,
      `- Fetched: ${new Date(r.fetchedAt).toISOString()}`,
    ]),
    icon: { id: "cloud-download" },
    contextValue: "share.fetched",
    copyValue: r.link,
    open: { kind: "file", path: r.path },
  }));
  const out: TreeNode[] = [];
  if (shares.length) {
    out.push({ key: SHARED_ROOT, label: "Shared by this node", description: String(shares.length), icon: { id: "broadcast" }, contextValue: "shared.section", expanded: true, children: shares });
  }
  if (fetchedNodes.length) {
    out.push({ key: FETCHED_ROOT, label: "Fetched", description: String(fetchedNodes.length), icon: { id: "desktop-download" }, contextValue: "shared.section", expanded: true, children: fetchedNodes });
  }
  return out;
}
