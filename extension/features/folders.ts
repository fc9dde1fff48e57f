// Shared folders in VS Code:
//   - Share Folder to Peers (Explorer context menu on folders, palette): shares each folder with
//     progress, as Share File to Peers does a file (the team question, the confirmation modal), then
//     offers its link and lists what the node left out (git-ignored and secret-looking files, links
//     out of the folder, …) in a document.
//   - Open Shared Folder: adds a shared folder to the window as a read-only workspace folder through
//     the `peershare:` file system: its tree shows at once (from the folder manifest), and a file's
//     bytes are fetched when it is opened (contentFs.ts).
//   - Save Shared Folder As… (palette, and the shared folder's root in the Explorer): fetches the
//     whole folder into a new folder chosen in a save dialog.
// A window that VS Code reloads to add the folder and that comes up without it is reloaded, or given
// the folder again, once (pendingFolder.ts).
import * as vscode from "vscode";
import * as fs from "node:fs";
import * as path from "node:path";
import type { FetchInfo, LeftOutEntry, ShareInfo } from "../../node-host/rpc/api-types";
import { askLink, copyWithNotice, refArg, registerCommands } from "../commands";
import { transferFeed, withFetchProgress } from "../fetchProgress";
import { formatBytes, pluralize, shortId } from "../format";
import { LONG_REQUEST_MS, type Services } from "../services";
import { folderUriParts, formatLink, parseContentUri, SCHEME, type ContentRef } from "../shareLink";
import { askShareTeams, shareConfirmed } from "../shareFlow";
import { parsePendingFolder, PENDING_FOLDER_GRACE_MS, pendingFolderAction, type PendingFolder } from "../pendingFolder";

export function registerFolders(context: vscode.ExtensionContext, s: Services): void {
  const pending = pendingFolderFile(context);
  checkPendingFolder(context, s, pending);
  registerCommands(context, {
    "peershare.shareFolder": (arg?: unknown, all?: unknown) => shareFolders(s, arg, all),
    "peershare.openSharedFolder": async (arg?: unknown) => {
      if (!(await s.node.require())) return;
      const ref = refArg(arg) ?? (await askLink("peershare: Open Shared Folder"));
      return ref && openSharedFolder(s, ref, pending);
    },
    "peershare.saveSharedFolderAs": async (arg?: unknown, targetArg?: unknown) => {
      if (!(await s.node.require())) return;
      const ref = refArg(arg) ?? (await askLink("peershare: Save Shared Folder As…"));
      return ref && saveSharedFolderAs(s, ref, targetArg);
    },
  });
}

async function shareFolders(s: Services, arg: unknown, all: unknown): Promise<ShareInfo | ShareInfo[] | undefined> {
  if (!(await s.node.require())) return;
  const folders = await foldersToShare(arg, all);
  if (!folders.length) return;
  const teams = await askShareTeams(s, "peershare: Share Folder to Peers");
  if (!teams) return;
  const results: ShareInfo[] = [];
  for (const folder of folders) {
    const r = await shareConfirmed(s, folder, teams);
    if (!r) continue;
    results.push(r);
    s.log.info(`shared folder ${folder.fsPath}: ${r.contentId} (${r.folder?.files ?? 0} files, ${r.size} bytes, announced to ${r.announcedTo} nodes)`);
    for (const e of r.folder?.leftOut ?? []) s.log.info(`  left out ${e.path}: ${e.reason}`);
    await s.history.recordShare(r, folder.fsPath);
    void announceShare(r);
  }
  return results.length === 1 ? results[0] : results;
}

/** The notification of a folder share: its link to copy and, when the node left files out, a list of them. */
async function announceShare(r: ShareInfo): Promise<void> {
  const leftOut = r.folder?.leftOut ?? [];
  const what = `${r.name}/ (${pluralize(r.folder?.files ?? 0, "file")}, ${formatBytes(r.size)}${r.teams?.length ? `, readable by ${r.teams.length === 1 ? "team" : "teams"} ${r.teams.join(", ")}` : ""})`;
  const text = `peershare: shared ${what}${leftOut.length ? `; left out ${pluralize(leftOut.length, "entry", "entries")}` : ""}: ${r.link}`;
  const choice = await (leftOut.length ? vscode.window.showWarningMessage(text, "Copy Link", "Show Left Out") : vscode.window.showInformationMessage(text, "Copy Link"));
  if (choice === "Copy Link") await copyWithNotice(r.link, "peershare: link copied");
  if (choice === "Show Left Out") await showLeftOut(r.name, leftOut);
}

/** What a folder share left out, with why, in an untitled Markdown document. */
async function showLeftOut(name: string, leftOut: LeftOutEntry[]): Promise<void> {
  const lines = [`# Left out of the shared folder ${name}`, "", "Not shared (share again with the reasons fixed, or from the CLI with `--force` for git-ignored and secret-looking files):", "", ...leftOut.map((e) => `- \`${e.path}\`: ${e.reason}`)];
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument({ language: "markdown", content: lines.join("\n") }));
}

/** The folders on disk the command is about: those it was invoked on (Explorer), or picked in a dialog. */
async function foldersToShare(arg: unknown, all: unknown): Promise<vscode.Uri[]> {
  let folders = Array.isArray(all) && all.length && all.every((u) => u instanceof vscode.Uri) ? (all as vscode.Uri[]) : arg instanceof vscode.Uri ? [arg] : typeof arg === "string" ? [vscode.Uri.file(arg)] : [];
  if (!folders.length) {
    const picked = await vscode.window.showOpenDialog({ title: "peershare: Share Folder to Peers", canSelectFiles: false, canSelectFolders: true, canSelectMany: true, openLabel: "Share", defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri });
    folders = picked ?? [];
  }
  const notLocal = folders.filter((f) => f.scheme !== "file");
  if (notLocal.length) void vscode.window.showErrorMessage(`peershare: only folders on disk can be shared (${notLocal[0].toString(true)})`);
  return folders.filter((f) => f.scheme === "file");
}

/**
 * Adds a shared folder to the window as a read-only workspace folder (after the existing ones, so the
 * first folder, and the extension host with it, stays as it is). Returns its URI.
 */
export async function openSharedFolder(s: Services, ref: ContentRef, pendingFile?: string): Promise<vscode.Uri | undefined> {
  let name: string;
  try {
    const info = await s.files.infoWithProgress(ref);
    if (info.kind !== "folder") {
      void vscode.window.showWarningMessage(`peershare: ${info.name} is a shared file, not a folder: it opens with Open Shared Hash`);
      return undefined;
    }
    name = info.name;
  } catch (err) {
    s.failed(`could not open ${shortId(ref.contentId, 12)}`, err, () => openSharedFolder(s, ref, pendingFile));
    return undefined;
  }
  const uri = vscode.Uri.from(folderUriParts(ref));
  const open = vscode.workspace.workspaceFolders ?? [];
  const already = open.find((f) => f.uri.scheme === SCHEME && parseContentUri(f.uri)?.contentId === ref.contentId);
  if (already) return already.uri;
  s.log.info(`opening shared folder ${name} (${shortId(ref.contentId, 12)}) as a workspace folder`);
  // a window with folders that is no workspace yet is reloaded into one: noted for the next window
  if (pendingFile && open.length > 0 && vscode.workspace.workspaceFile === undefined) {
    notePendingFolder(s, pendingFile, { contentId: ref.contentId, uri: uri.toString(), name: `${name} (shared)`, from: open[0].uri.toString(), at: Date.now() });
  }
  if (!vscode.workspace.updateWorkspaceFolders(open.length, 0, { uri, name: `${name} (shared)` })) {
    void vscode.window.showErrorMessage(`peershare: VS Code did not add ${name} to the workspace`);
    return undefined;
  }
  return uri;
}

/** Fetches a whole shared folder into a new folder chosen in a save dialog (or `targetArg`). */
async function saveSharedFolderAs(s: Services, ref: ContentRef, targetArg: unknown): Promise<FetchInfo | undefined> {
  let name: string;
  try {
    const info = await s.files.infoWithProgress(ref);
    if (info.kind !== "folder") {
      void vscode.window.showWarningMessage(`peershare: ${info.name} is a shared file, not a folder: Fetch by Hash saves it`);
      return undefined;
    }
    name = info.name;
  } catch (err) {
    s.failed(`could not look up ${shortId(ref.contentId, 12)}`, err);
    return undefined;
  }
  const target = targetArg instanceof vscode.Uri ? targetArg : typeof targetArg === "string" ? vscode.Uri.file(targetArg) : await askTarget(name);
  if (!target) return;
  const link = formatLink(ref);
  let r: FetchInfo;
  try {
    r = await withFetchProgress(transferFeed(s.host), `peershare: saving ${name}`, ref.contentId, () => s.host.request("content.fetch", { link, out: target.fsPath }, LONG_REQUEST_MS));
  } catch (err) {
    return void s.failed(`could not save ${name}`, err, () => saveSharedFolderAs(s, ref, target));
  }
  s.log.info(`saved shared folder ${r.contentId} into ${r.path}: ${r.folder?.filesFetched} fetched, ${r.folder?.filesKept} already there, ${r.bytesFetched} bytes from ${r.holdersUsed} holders in ${r.durationMs} ms`);
  await s.history.recordFetch(r, link);
  const refused = r.folder?.refused ?? [];
  for (const e of refused) s.log.warn(`  refused ${e.path}: ${e.reason}`);
  const text = `peershare: saved ${name} (${pluralize(r.folder?.files ?? 0, "file")}, ${formatBytes(r.size)}) into ${r.path}`;
  const reveal = (c: string | undefined) => c === "Reveal in Explorer" && void vscode.commands.executeCommand("revealFileInOS", vscode.Uri.file(r.path));
  if (refused.length) void vscode.window.showWarningMessage(`${text}; ${pluralize(refused.length, "entry", "entries")} refused (see the peershare log), e.g. ${refused[0].path}: ${refused[0].reason}`, "Reveal in Explorer").then(reveal);
  else void vscode.window.showInformationMessage(text, "Reveal in Explorer").then(reveal);
  return r;
}

/** The new folder to save into, from a save dialog. */
async function askTarget(name: string): Promise<vscode.Uri | undefined> {
  const base = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === "file")?.uri;
  return vscode.window.showSaveDialog({ title: "peershare: Save Shared Folder As…", saveLabel: "Save Folder Here", defaultUri: base ? vscode.Uri.joinPath(base, name) : undefined });
}

function pendingFolderFile(context: vscode.ExtensionContext): string {
  return path.join(context.globalStorageUri.fsPath, "pending-shared-folder.json");
}

/** Written synchronously: VS Code stops this extension host right after the folder is added. */
function notePendingFolder(s: Services, file: string, note: PendingFolder): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(note));
  } catch (err) {
    s.log.warn(`could not note the shared folder being opened (${file}): ${String(err)}`);
  }
}

/**
 * At activation: a window that VS Code brought up without the shared folder that Open Shared
 * Folder was adding is given a moment to show it, then reloaded (a workspace without any folder),
 * or given the folder once more (the folder it came from), once at most (pendingFolder.ts).
 */
function checkPendingFolder(context: vscode.ExtensionContext, s: Services, file: string): void {
  let text: string | undefined;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return; // none
  }
  const pending = parsePendingFolder(text);
  const action = () =>
    pendingFolderAction(pending, Date.now(), {
      isWorkspace: vscode.workspace.workspaceFile !== undefined,
      folders: (vscode.workspace.workspaceFolders ?? []).map((f) => ({ uri: f.uri.toString(), contentId: f.uri.scheme === SCHEME ? parseContentUri(f.uri)?.contentId : undefined })),
    });
  const forget = () => fs.rmSync(file, { force: true });
  const first = action();
  if (first !== "reload" && first !== "reopen") return forget();
  const watch = vscode.workspace.onDidChangeWorkspaceFolders(() => {
    const now = action();
    if (now !== "reload" && now !== "reopen") settle();
  });
  const timer = setTimeout(() => {
    const now = action();
    settle();
    if (!pending || (now !== "reload" && now !== "reopen")) return;
    const what = `the shared folder ${shortId(pending.contentId, 12)}`;
    if (now === "reload") {
      s.log.warn(`VS Code opened this workspace without its folders after ${what} was added; reloading the window once to show them`);
      void vscode.commands.executeCommand("workbench.action.reloadWindow");
      return;
    }
    s.log.warn(`VS Code reloaded this window into its folder instead of the workspace with ${what}; adding it once more`);
    notePendingFolder(s, file, { ...pending, at: Date.now(), retried: true });
    const open = vscode.workspace.workspaceFolders ?? [];
    if (!vscode.workspace.updateWorkspaceFolders(open.length, 0, { uri: vscode.Uri.parse(pending.uri), name: pending.name })) forget();
  }, PENDING_FOLDER_GRACE_MS);
  const settle = () => {
    clearTimeout(timer);
    watch.dispose();
    forget();
  };
  context.subscriptions.push({ dispose: () => (clearTimeout(timer), watch.dispose()) });
}
