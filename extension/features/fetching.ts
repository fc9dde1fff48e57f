// Fetch by Hash (a link or content ID into a chosen folder, with progress and Cancel; a shared folder
// goes into it under its name), Open Shared Hash (the file in a read-only `peershare:` editor tab; a
// shared folder as a workspace folder) and Open on a Shared Files row (the local file of an own share
// or fetch, else the shared file or folder).
import * as vscode from "vscode";
import * as fs from "node:fs";
import * as path from "node:path";
import type { FetchInfo } from "../../node-host/rpc/api-types";
import { askLink, refArg, registerCommands } from "../commands";
import { transferFeed, withFetchProgress } from "../fetchProgress";
import { formatBytes, shortId } from "../format";
import { LONG_REQUEST_MS, type Services } from "../services";
import { contentUriParts, formatLink, parseLinkOrId, type ContentRef } from "../shareLink";
import type { TreeNode } from "../treeModel";

export function registerFetching(context: vscode.ExtensionContext, s: Services): void {
  registerCommands(context, {
    "peershare.fetchByHash": (arg?: unknown, folderArg?: unknown) => fetchByHash(s, arg, folderArg),
    "peershare.openShared": async (arg?: unknown) => {
      if (!(await s.node.require())) return;
      const ref = refArg(arg) ?? (await askLink("peershare: Open Shared Hash"));
      if (!ref) return;
      return openShared(s, ref);
    },
    "peershare.openSharedItem": async (arg?: unknown) => {
      const open = (arg as TreeNode | undefined)?.open;
      if (!open) return;
      if (open.kind === "file") {
        const st = fs.statSync(open.path, { throwIfNoEntry: false });
        if (!st) return void vscode.window.showWarningMessage(`peershare: ${open.path} is no longer there`);
        // a fetched folder: shown in the operating system's file manager
        return vscode.commands.executeCommand(st.isDirectory() ? "revealFileInOS" : "vscode.open", vscode.Uri.file(open.path));
      }
      if (!(await s.node.require())) return;
      const ref = parseLinkOrId(open.link);
      if (ref) return openShared(s, ref);
    },
  });
}

async function fetchByHash(s: Services, arg: unknown, folderArg: unknown): Promise<FetchInfo | undefined> {
  if (!(await s.node.require())) return;
  const ref = refArg(arg) ?? (await askLink("peershare: Fetch by Hash"));
  if (!ref) return;
  const folder = folderArg instanceof vscode.Uri ? folderArg : typeof folderArg === "string" ? vscode.Uri.file(folderArg) : await askFolder();
  if (!folder) return;
  const link = formatLink(ref);
  let r: FetchInfo;
  try {
    r = await withFetchProgress(transferFeed(s.host), `peershare: fetching ${shortId(ref.contentId, 12)}`, ref.contentId, () =>
      s.host.request("content.fetch", { link, out: folder.fsPath + path.sep }, LONG_REQUEST_MS),
    );
  } catch (err) {
    return void s.failed(`could not fetch ${shortId(ref.contentId, 12)}`, err, () => vscode.commands.executeCommand("peershare.fetchByHash", link, folder));
  }
  s.log.info(`fetched ${r.contentId} into ${r.path}: ${r.size} bytes, ${r.bytesFetched} fetched from ${r.holdersUsed} holders in ${r.durationMs} ms`);
  await s.history.recordFetch(r, link);
  const refused = r.folder?.refused.length ? `; ${r.folder.refused.length} entry(ies) refused, e.g. ${r.folder.refused[0].path}: ${r.folder.refused[0].reason}` : "";
  for (const e of r.folder?.refused ?? []) s.log.warn(`  refused ${e.path}: ${e.reason}`);
  const actions = r.folder ? ["Reveal in Explorer"] : ["Open", "Reveal in Explorer"];
  void vscode.window.showInformationMessage(`peershare: fetched ${r.name}${r.folder ? "/" : ""} (${formatBytes(r.size)}) into ${r.path}${refused}`, ...actions).then((c) => {
    if (c === "Open") void vscode.commands.executeCommand("vscode.open", vscode.Uri.file(r.path));
    else if (c === "Reveal in Explorer") void vscode.commands.executeCommand("revealInExplorer", vscode.Uri.file(r.path));
  });
  return r;
}

/** The folder Fetch by Hash saves into, chosen in an open dialog. */
async function askFolder(): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({
    title: "peershare: Fetch by Hash: folder to save into",
    canSelectFiles: false,
    canSelectFolders: true,
    canSelectMany: false,
    openLabel: "Fetch Here",
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
  });
  return picked?.[0];
}

/** Opens a shared file in an editor tab (peershare: URI); returns the URI. */
async function openShared(s: Services, ref: ContentRef): Promise<vscode.Uri | undefined> {
  const link = formatLink(ref);
  let name: string;
  try {
    const info = await s.files.infoWithProgress(ref);
    // a shared folder opens as a workspace folder (Open Shared Folder)
    if (info.kind === "folder") return vscode.commands.executeCommand<vscode.Uri | undefined>("peershare.openSharedFolder", link);
    name = info.name;
  } catch (err) {
    s.failed(`could not open ${shortId(ref.contentId, 12)}`, err, () => openShared(s, ref));
    return undefined;
  }
  const uri = vscode.Uri.from(contentUriParts(ref, name));
  s.log.info(`opening ${link.replace(/#k=.*/, "#k=…")} as ${uri.with({ query: "" }).toString(true)}`);
  await vscode.commands.executeCommand("vscode.open", uri);
  return uri;
}
