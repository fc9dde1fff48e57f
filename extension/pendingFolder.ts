// A shared folder opened in a window that is not a multi-root workspace yet: VS Code turns the
// window into an untitled workspace and reloads it. In VS Code for the web (code-server 4.100) the
// reloaded window often comes up with no folders at all ("no folder opened"), and stays so, when the
// workspace has a folder of an extension's file system (it starts from the workspace's cached
// configuration, which the window it came from writes while it goes away; with only folders on
// disk the window catches up). Reloading it once more shows the workspace whole. So Open Shared Folder notes the folder it adds
// before the reload (a small file in the extension's global storage, written synchronously, since
// the extension host is stopped right after), and the next window looks at it when it starts
// (features/folders.ts). Pure: no VS Code API, so it is unit-tested directly.

/** What Open Shared Folder notes before VS Code reloads the window. */
export interface PendingFolder {
  /** The shared folder's content ID (64 hex digits). */
  contentId: string;
  /** When it was noted (ms since the epoch). */
  at: number;
}

/** A note older than this is about another window, or a reload that went by long ago: forgotten. */
export const PENDING_FOLDER_MAX_AGE_MS = 2 * 60_000;

/** How long a window that came up without folders waits for VS Code to show them before reloading. */
export const PENDING_FOLDER_GRACE_MS = 4000;

/**
 * What a window that starts does with a note:
 *   - "none": there is none;
 *   - "forget": the folder is there, or the note is stale, or the window is not what the failure
 *     leaves (forget it and do nothing);
 *   - "reload": the window is a workspace with no folders at all, right after a shared folder was
 *     added to a window that had one: VS Code's failure above (forget the note first, so it
 *     reloads once at most).
 */
export function pendingFolderAction(
  pending: PendingFolder | undefined,
  now: number,
  window: { isWorkspace: boolean; folderContentIds: readonly (string | undefined)[] },
): "none" | "forget" | "reload" {
  if (!pending) return "none";
  if (!(now - pending.at >= 0 && now - pending.at <= PENDING_FOLDER_MAX_AGE_MS)) return "forget";
  if (window.folderContentIds.includes(pending.contentId)) return "forget";
  return window.isWorkspace && window.folderContentIds.length === 0 ? "reload" : "forget";
}

/** The note as stored (JSON), or undefined when it is missing or not one. */
export function parsePendingFolder(text: string | undefined): PendingFolder | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Partial<PendingFolder>;
    return typeof v.contentId === "string" && /^[0-9a-f]{64}$/.test(v.contentId) && typeof v.at === "number" && Number.isFinite(v.at) ? { contentId: v.contentId, at: v.at } : undefined;
  } catch {
    return undefined;
  }
}
