// Share File to Peers (palette, Explorer and editor-title context menus): shares each file with
// progress and offers its link. A file the node wants confirmed first (git-ignored, secret-looking,
// large) is shared only after a modal listing the reasons; in several teams, it asks which may read it.
import * as vscode from "vscode";
import * as path from "node:path";
import type { ShareInfo } from "../../node-host/rpc/api-types";
import { copyWithNotice, registerCommands } from "../commands";
import { formatBytes, pluralize } from "../format";
import { errorText } from "../nodeHost";
import { confirmationWarnings, confirmShareText, SHARE_ANYWAY } from "../publishModel";
import { LONG_REQUEST_MS, type Services } from "../services";
import { shareTeamChoices } from "../teamModel";

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
    const r = await shareFile(s, file, teams);
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

/**
 * Which teams may read a new share when the node is in several: their keys, [] when there was
 * nothing to ask (zero or one team), undefined when the user backed out.
 */
async function askShareTeams(s: Services): Promise<string[] | undefined> {
  let teams;
  try {
    teams = await s.host.request("team.list", {});
  } catch (err) {
    s.log.warn(`team.list failed: ${errorText(err)}`);
  }
  const choices = shareTeamChoices(teams ?? []);
  if (!choices) return [];
  const picks = await vscode.window.showQuickPick(choices, {
    title: "peershare: Share File to Peers",
    placeHolder: "Which teams may read it? (all of this node's teams unless you untick some)",
    canPickMany: true,
    ignoreFocusOut: true,
  });
  if (!picks) return undefined;
  if (!picks.length) {
    void vscode.window.showWarningMessage("peershare: nothing shared: choose at least one team that may read the file.");
    return undefined;
  }
  return picks.map((p) => p.teamKey);
}

/** Shares one file, asking first where the node wants it confirmed; undefined when it was not shared. */
async function shareFile(s: Services, file: vscode.Uri, teams: string[]): Promise<ShareInfo | undefined> {
  const name = path.basename(file.fsPath);
  const share = (force: boolean) =>
    vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `peershare: sharing ${name}…` }, () =>
      s.host.request("content.share", { path: file.fsPath, ...(teams.length ? { teams } : {}), ...(force ? { force } : {}) }, LONG_REQUEST_MS),
    );
  try {
    return await share(false);
  } catch (err) {
    // git-ignored, secret-looking or over the size limit: the node shares it only once confirmed
    const warnings = confirmationWarnings(err);
    if (!warnings) {
      s.failed(`could not share ${name}`, err);
      return undefined;
    }
    s.log.info(`${file.fsPath} needs confirmation before it is shared: ${warnings.map((w) => w.message).join("; ")}`);
    const { message, detail } = confirmShareText(name, warnings);
    const choice = await vscode.window.showWarningMessage(message, { modal: true, detail }, SHARE_ANYWAY);
    if (choice !== SHARE_ANYWAY) {
      s.log.info(`${file.fsPath}: not shared (not confirmed)`);
      return undefined;
    }
  }
  try {
    const r = await share(true);
    s.log.info(`${file.fsPath}: shared after confirmation`);
    return r;
  } catch (err) {
    s.failed(`could not share ${name}`, err);
    return undefined;
  }
}
