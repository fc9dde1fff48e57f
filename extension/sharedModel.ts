// The Shared Files view: this node's own shares (the node's store listing plus what this window
// shared, which knows the links) and the files fetched from peers. Pure.
import type { ContentStatus, StoreListing } from "../node-host/rpc/api-types";
import { formatAgo, formatBytes, pluralize, shortId } from "./format";
import { healthOf } from "./replicaHealth";
import type { IconSpec, TreeNode } from "./treeModel";

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
  /** The teams whose members may read it (names); absent or empty when any node with the link may. */
  teams?: string[];
  /** A shared folder: how many files it holds. */
  folder?: { files: number };
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

/** The replica health of an own share, as known (undefined until the node has answered). */
export type HealthLookup = (contentId: string) => ContentStatus | undefined;

const SHARE_ICON: IconSpec = { id: "cloud-upload" };
/** Suffix of an own share's context value when it has fewer live holders than r (offers Repair Now). */
export const BELOW_R = ".belowR";
const BELOW_R_ICON: IconSpec = { id: "warning", color: "list.warningForeground" };

function readers(r: ShareRecord): string {
  if (r.public) return "Public: anyone with the ID can read it";
  if (r.teams?.length) return `Private: readable with the link by members of ${r.teams.length === 1 ? "team" : "the teams"} ${r.teams.join(", ")}`;
  return "Private: readable with the link, which carries the key";
}

/** Content IDs of the own shares the view lists, in its order (whose replica health it shows). */
export function ownContentIds(own: readonly ShareRecord[], listing: StoreListing | undefined): string[] {
  const ids = own.map((r) => r.contentId);
  const seen = new Set(ids);
  for (const c of listing?.contents ?? []) if (c.pins.includes("own") && !seen.has(c.contentId)) ids.push(c.contentId);
  return ids;
}

/** Own shares and fetched files; own shares show live holders against r ("2/3") once known. */
export function sharedNodes(own: readonly ShareRecord[], fetched: readonly FetchRecord[], listing: StoreListing | undefined, now: number, health?: HealthLookup): TreeNode[] {
  const byId = new Map(own.map((r) => [r.contentId, r]));
  const healthFor = (contentId: string) => {
    const s = health?.(contentId);
    return s ? healthOf(s) : undefined;
  };
  const shares: TreeNode[] = own.map((r) => {
    const h = healthFor(r.contentId);
    return {
      key: `share:${r.contentId}`,
      label: r.folder ? `${r.name}/` : r.name,
      description: [h?.text, r.folder ? pluralize(r.folder.files, "file") : undefined, formatBytes(r.size), shortId(r.contentId, 8), r.public ? "public" : undefined, formatAgo(r.sharedAt, now)].filter(Boolean).join(" · "),
      tooltip: tooltip([
        `**${r.name}** (${r.folder ? "a folder " : ""}shared by this node)`,
        "",
        `- Content ID: \`${r.contentId}\``,
        `- Size: ${formatBytes(r.size)} (${r.size} bytes)${r.folder ? ` in ${pluralize(r.folder.files, "file")}` : ""}`,
        `- ${readers(r)}`,
        r.path ? `- From: ${r.path}` : undefined,
        `- Shared: ${new Date(r.sharedAt).toISOString()}`,
        ...(h?.lines ?? []),
      ]),
      icon: h?.below ? BELOW_R_ICON : SHARE_ICON,
      contextValue: h?.below ? `share.own${BELOW_R}` : "share.own",
      copyValue: r.link,
      open: { kind: "link", link: r.link, name: r.name },
    };
  });
  // Shares of this node that this window did not make (another window, the CLI, an earlier workspace).
  for (const c of listing?.contents ?? []) {
    if (!c.pins.includes("own") || byId.has(c.contentId)) continue;
    const h = healthFor(c.contentId);
    shares.push({
      key: `share:${c.contentId}`,
      label: (c.name ?? shortId(c.contentId, 12)) + (c.kind === "folder" ? "/" : ""),
      description: [h?.text, c.name ? formatBytes(c.size) : undefined, shortId(c.contentId, 8), "in the store"].filter(Boolean).join(" · "),
      tooltip: tooltip([
        `**${c.name ?? "(private share)"}** (in this node's store)`,
        "",
        `- Content ID: \`${c.contentId}\``,
        c.name ? `- Size: ${formatBytes(c.size)}` : undefined,
        "- Shared from elsewhere: its link (with the key of a private share) is with whoever shared it; Copy Link copies the content ID.",
        ...(h?.lines ?? []),
      ]),
      icon: h?.below ? BELOW_R_ICON : SHARE_ICON,
      contextValue: h?.below ? `share.own.id${BELOW_R}` : "share.own.id",
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
