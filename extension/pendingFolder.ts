// A shared folder opened in a window that is not a multi-root workspace yet: VS Code turns the
// window into an untitled workspace and reloads it. In VS Code for the web (code-server 4.100) that
// reload goes wrong in two ways, both seen with the previous release as well:
//   - the reloaded window often comes up with no folders at all ("no folder opened"), and stays so,
//     when the workspace has a folder of an extension's file system (it starts from the workspace's
//     cached configuration, which the window it came from writes while it goes away; with only
//     folders on disk the window catches up); reloading it once more shows the workspace whole;
//   - now and then the window reloads into the folder it had (VS Code reloads a remote window whose
//     first folder changes, and the window it came from saw its folders change while it entered the
//     workspace); adding the shared folder once more gets it there.
// So Open Shared Folder notes what it adds before the reload (a small file in the extension's global
// storage, written synchronously, since the extension host is stopped right after), and the next
// window looks at it when it starts (features/folders.ts), and acts once at most. Pure: no VS Code
// API, so it is unit-tested directly.

/** What Open Shared Folder notes before VS Code reloads the window. */
export interface PendingFolder {
  /** The shared folder's content ID (64 hex digits). */
  contentId: string;
  /** Its URI (a `peershare:` URI with the key and address hints) and its name in the workspace. */
  uri: string;
  name: string;
  /** The URI of the folder the window had. */
  from: string;
  /** When it was noted (ms since the epoch). */
  at: number;
  /** Set when the folder has been added once more already. */
  retried?: boolean;
}

/** A note older than this is about another window, or a reload that went by long ago: forgotten. */
export const PENDING_FOLDER_MAX_AGE_MS = 2 * 60_000;

/** How long a window that came up without the folder waits for VS Code to show it before acting. */
export const PENDING_FOLDER_GRACE_MS = 4000;

/** A window as the extension sees it when it starts. */
export interface WindowFolders {
  /** A (multi-root) workspace, untitled or saved. */
  isWorkspace: boolean;
  /** Its folders' URIs (as strings) and, for shared folders, their content IDs. */
  folders: readonly { uri: string; contentId?: string }[];
}

/**
 * What a window that starts does with a note:
 *   - "none": there is none;
 *   - "forget": the folder is there, or the note is stale, or the window is neither of the two
 *     failures above (forget it and do nothing);
 *   - "reload": a workspace with no folders at all (forget the note, then reload the window);
 *   - "reopen": the folder the note came from, alone, without the shared folder, and not retried yet
 *     (note that it is retried, then add the shared folder again).
 */
export function pendingFolderAction(pending: PendingFolder | undefined, now: number, window: WindowFolders): "none" | "forget" | "reload" | "reopen" {
  if (!pending) return "none";
  if (!(now - pending.at >= 0 && now - pending.at <= PENDING_FOLDER_MAX_AGE_MS)) return "forget";
  if (window.folders.some((f) => f.contentId === pending.contentId)) return "forget";
  if (window.isWorkspace) return window.folders.length === 0 ? "reload" : "forget";
  return !pending.retried && window.folders.length === 1 && window.folders[0].uri === pending.from ? "reopen" : "forget";
}

/** The note as stored (JSON), or undefined when it is missing or not one. */
export function parsePendingFolder(text: string | undefined): PendingFolder | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Partial<PendingFolder>;
    const strings = [v.uri, v.name, v.from].every((x) => typeof x === "string" && x.length > 0);
    if (typeof v.contentId !== "string" || !/^[0-9a-f]{64}$/.test(v.contentId) || !strings || typeof v.at !== "number" || !Number.isFinite(v.at)) return undefined;
    return { contentId: v.contentId, uri: v.uri!, name: v.name!, from: v.from!, at: v.at, ...(v.retried ? { retried: true } : {}) };
  } catch {
    return undefined;
  }
}
