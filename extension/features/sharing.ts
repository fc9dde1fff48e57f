// Share File to Peers (palette, Explorer and editor-title context menus): shares each file with
// progress and offers its link. A file the node wants confirmed first (git-ignored, secret-looking,
// large) is shared only after a modal listing the reasons; in several teams, it asks which may read it.
import * as vscode from "vscode";
import type { ShareInfo } from "../../node-host/rpc/api-types";
import { copyWithNotice, registerCommands } from "../commands";
import { formatBytes, pluralize } from "../format";
import type { Services } from "../services";
import { askShareTeams, shareConfirmed } from "../shareFlow";

export function registerSharing(context: vscode.ExtensionContext, s: Services): void {
  registerCommands(context, {
    "peershare.shareFile": (arg?: unknown, all?: unknown) => shareFiles(s, arg, all),
  });
}

async function shareFiles(s: Services, arg: unknown, all: unknown): Promise<ShareInfo | ShareInfo[] | undefined> {
  if (!(await s.node.require())) return;
  const files = await filesToShare(arg, all);
  if (!files.length) return;
  // In several teams: which of them may read it (in zero or one, nothing to ask).
  const teams = await askShareTeams(s);
  if (!teams) return;
  const results: ShareInfo[] = [];
  for (const file of files) {
    const r = await shareConfirmed(s, file, teams);
    if (!r) continue;
    s.log.info(`shared ${file.fsPath}: ${r.contentId} (${r.size} bytes, ${r.chunks} chunks, announced to ${r.announcedTo} nodes)`);
    results.push(r);
    await s.history.recordShare(r, file.fsPath);
    void vscode.window
      .showInformationMessage(
        `peershare: shared ${r.name} (${formatBytes(r.size)}${r.teams?.length ? `, readable by ${r.teams.length === 1 ? "team" : "teams"} ${r.teams.join(", ")}` : ""}, announced to ${pluralize(r.announcedTo, "node")}${r.replicas ? `, copied to ${r.replicas}` : ""}): ${r.link}`,
        "Copy Link",
      )
      .then(async (c) => {
        if (c === "Copy Link") await copyWithNotice(r.link, "peershare: link copied");
      });
  }
  return results.length === 1 ? results[0] : results;
}

/** The files on disk a Share command is about: those it was invoked on, the active editor's, or picked. */
async function filesToShare(arg: unknown, all: unknown): Promise<vscode.Uri[]> {
  let files = filesArg(arg, all);
  if (!files.length) {
    const picked = await vscode.window.showOpenDialog({
      title: "peershare: Share File to Peers",
      canSelectFiles: true,
      canSelectFolders: false,
      canSelectMany: true,
      openLabel: "Share",
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
    });
    if (!picked?.length) return [];
    files = picked;
  }
  const notLocal = files.filter((f) => f.scheme !== "file");
  if (notLocal.length) {
    void vscode.window.showErrorMessage(`peershare: only files on disk can be shared (${notLocal[0].toString(true)})`);
    files = files.filter((f) => f.scheme === "file");
  }
  return files;
}

/** The files a Share command was invoked on (explorer selection, editor tab), else the active editor's. */
function filesArg(arg: unknown, all: unknown): vscode.Uri[] {
  if (Array.isArray(all) && all.length && all.every((u) => u instanceof vscode.Uri)) return all as vscode.Uri[];
  if (arg instanceof vscode.Uri) return [arg];
  if (typeof arg === "string") return [vscode.Uri.file(arg)];
  const active = vscode.window.activeTextEditor?.document.uri;
  return active && active.scheme === "file" ? [active] : [];
}
