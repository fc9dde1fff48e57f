// Compare Shared File with Local File… (Shared Files rows, `peershare:` editor tabs, palette): the
// diff editor between the shared file and a local one: the file the share was made from, a
// workspace file of the same name, or any file. Candidates come from compareModel.ts.
import * as vscode from "vscode";
import * as fs from "node:fs";
import * as path from "node:path";
import { askLink, refArg, registerCommands } from "../commands";
import { compareTitle, localCandidates, sameNameGlob } from "../compareModel";
import { shortId } from "../format";
import type { Services } from "../services";
import { contentUriParts, parseContentUri, SCHEME, type ContentRef } from "../shareLink";

export function registerCompare(context: vscode.ExtensionContext, s: Services): void {
  registerCommands(context, {
    "peershare.compareWithLocal": (arg?: unknown, localArg?: unknown) => compareWithLocal(s, arg, localArg),
  });
}

async function compareWithLocal(s: Services, arg: unknown, localArg: unknown): Promise<{ shared: vscode.Uri; local: vscode.Uri } | undefined> {
  let sharedUri = arg instanceof vscode.Uri && arg.scheme === SCHEME ? arg : arg === undefined ? activeSharedUri() : undefined;
  let ref: ContentRef | undefined = sharedUri ? parseContentUri(sharedUri) : refArg(arg);
  if (!ref) {
    ref = await askLink("peershare: Compare Shared File with Local File");
    if (!ref) return;
  }
  const contentId = ref.contentId;
  // an own share: the file it was made from (in a shared folder: that file of the folder) is the first candidate
  const record = s.history.shares().find((r) => r.contentId === contentId);
  const inFolder = sharedUri && record?.folder ? parseContentUri(sharedUri)?.path : undefined;
  const sourcePath = record?.path && (inFolder ? path.join(record.path, ...inFolder.split("/")) : record.folder ? undefined : record.path);
  if (!(await s.node.require())) return;
  let name = sharedUri ? parseContentUri(sharedUri)?.name : undefined;
  if (!sharedUri || !name) {
    try {
      const info = await s.files.infoWithProgress(ref);
      if (info.kind === "folder") return void vscode.window.showInformationMessage(`peershare: ${info.name} is a shared folder: open it (Open Shared Folder), then compare one of its files`);
      name = info.name;
    } catch (err) {
      return void s.failed(`could not open ${shortId(contentId, 12)}`, err);
    }
    sharedUri = vscode.Uri.from(contentUriParts(ref, name));
  }
  const local = localArg instanceof vscode.Uri ? localArg : typeof localArg === "string" ? vscode.Uri.file(localArg) : await pickLocalFile(name, sourcePath);
  if (!local) return;
  s.log.info(`comparing ${sharedUri.with({ query: "" }).toString(true)} with ${local.fsPath}`);
  await vscode.commands.executeCommand("vscode.diff", sharedUri, local, compareTitle(name, contentId, path.basename(local.fsPath)));
  return { shared: sharedUri, local };
}

/** The `peershare:` file of the active editor tab (text, image preview or binary), if any. */
function activeSharedUri(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const uri = input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom ? input.uri : vscode.window.activeTextEditor?.document.uri;
  return uri?.scheme === SCHEME ? uri : undefined;
}

/** Asks which local file to compare with: the share's source file, same-name workspace files, or any file. */
async function pickLocalFile(name: string, sourcePath: string | undefined): Promise<vscode.Uri | undefined> {
  const found = (await vscode.workspace.findFiles(sameNameGlob(name), "**/node_modules/**", 20)).filter((u) => u.scheme === "file").map((u) => u.fsPath);
  const candidates = localCandidates(sourcePath && fs.existsSync(sourcePath) ? sourcePath : undefined, found);
  const browse = async () =>
    (
      await vscode.window.showOpenDialog({
        title: `peershare: Compare ${name} with…`,
        canSelectFiles: true,
        canSelectFolders: false,
        canSelectMany: false,
        openLabel: "Compare",
        defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
      })
    )?.[0];
  if (!candidates.length) return browse();
  type Item = vscode.QuickPickItem & { uri?: vscode.Uri };
  const items: Item[] = [
    ...candidates.map((c) => ({
      label: `$(file) ${path.basename(c.path)}`,
      description: vscode.workspace.asRelativePath(c.path),
      detail: c.reason === "source" ? "The file this share was made from" : "Same name, in the workspace",
      uri: vscode.Uri.file(c.path),
    })),
    { label: "", kind: vscode.QuickPickItemKind.Separator },
    { label: "$(folder-opened) Choose Another File…" },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: `peershare: Compare ${name} with a local file`, placeHolder: "The local file to compare the shared file with", matchOnDescription: true });
  if (!pick) return undefined;
  return pick.uri ?? browse();
}
