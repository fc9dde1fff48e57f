// Sharing a file or folder from VS Code, as Share File to Peers and Share Folder to Peers both do:
// which of the node's teams may read it (asked only when it is in several), and the confirmation the
// node wants first for a git-ignored, secret-looking or large file or folder (a modal listing the
// reasons; only Share Anyway shares it).
import * as vscode from "vscode";
import * as path from "node:path";
import type { ShareInfo } from "../node-host/rpc/api-types";
import { errorText } from "./nodeHost";
import { confirmationWarnings, confirmShareText, SHARE_ANYWAY } from "./publishModel";
import { LONG_REQUEST_MS, type Services } from "./services";
import { shareTeamChoices } from "./teamModel";

/**
 * Which teams may read a new share when the node is in several: their keys, [] when there was
 * nothing to ask (zero or one team), undefined when the user backed out.
 */
export async function askShareTeams(s: Services, title = "peershare: Share File to Peers"): Promise<string[] | undefined> {
  let teams;
  try {
    teams = await s.host.request("team.list", {});
  } catch (err) {
    s.log.warn(`team.list failed: ${errorText(err)}`);
  }
  const choices = shareTeamChoices(teams ?? []);
  if (!choices) return [];
  const picks = await vscode.window.showQuickPick(choices, {
    title,
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

/**
 * Shares a file or folder, asking first where the node wants it confirmed (git-ignored, secret-looking,
 * large): a modal lists the reasons, and only Share Anyway shares it. Undefined when it was not shared.
 */
export async function shareConfirmed(s: Services, file: vscode.Uri, teams: string[]): Promise<ShareInfo | undefined> {
  const name = path.basename(file.fsPath);
  // confirmed: the reasons shown were accepted (a folder's git-ignored and secret-looking files are still left out)
  const share = (confirmed: boolean) =>
    vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `peershare: sharing ${name}…` }, () =>
      s.host.request("content.share", { path: file.fsPath, ...(teams.length ? { teams } : {}), ...(confirmed ? { confirmed } : {}) }, LONG_REQUEST_MS),
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
