// How a command's failure is shown: logged, and an error notification with the node's sentence. A
// fetch or open that every holder refused offers to join a team, then tries again.
import * as vscode from "vscode";
import type { TeamSummary } from "../node-host/rpc/api-types";
import { errorText } from "./nodeHost";
import { isForbidden } from "./teamModel";

const JOIN_ACTION = "Join Team…";

/** Logs and shows that `what` failed; a refusal by every holder offers Join Team… (then `retry`). */
export function showFailure(log: vscode.LogOutputChannel, what: string, err: unknown, retry?: () => unknown): void {
  log.error(`${what}: ${errorText(err)}`);
  if (!isForbidden(err)) {
    void vscode.window.showErrorMessage(`peershare: ${what}: ${errorText(err)}`);
    return;
  }
  void vscode.window.showErrorMessage(`peershare: ${what}: ${errorText(err)}`, JOIN_ACTION).then(async (c) => {
    if (c !== JOIN_ACTION) return;
    const joined = await vscode.commands.executeCommand<TeamSummary | undefined>("peershare.joinTeam");
    if (joined && retry) retry();
  });
}
