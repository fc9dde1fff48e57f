// The Shared Files view: this workspace's own shares, each with its live holders against r ("2/3",
// a warning below r and Repair Now), and the files it fetched; Copy Share Link. Rows come from
// sharedModel.ts, holder counts from replicaHealth.ts.
import * as vscode from "vscode";
import type { RepairReport } from "../../node-host/rpc/api-types";
import { copyWithNotice, registerCommands } from "../commands";
import { debounce } from "../debounce";
import { formatBytes, pluralize, shortId } from "../format";
import { StatusCache } from "../replicaHealth";
import { LONG_REQUEST_MS, type Services } from "../services";
import { ownContentIds, sharedNodes } from "../sharedModel";
import type { TreeNode } from "../treeModel";
import { VIEW } from "../views";

export function registerSharedFilesView(context: vscode.ExtensionContext, s: Services): void {
  const { view, provider } = s.views.create(VIEW.shared);
  // Live holders against r for own shares: asked only while the view is visible, a few at a time,
  // each answer cached for a few seconds (content.status costs the node a lookup and pings).
  const health = new StatusCache({
    fetch: (contentId) => s.host.request("content.status", { link: contentId }),
    onChange: () => renderSoon(),
    ttlMs: 10_000,
    concurrency: 2,
  });
  const render = (): void => {
    const running = s.host.isRunning;
    const listing = running ? s.data.listing : undefined;
    const nodes = sharedNodes(s.history.shares(), s.history.fetches(), listing, Date.now(), running ? (id) => health.get(id) : undefined);
    if (running && view.visible) health.want(ownContentIds(s.history.shares(), listing));
    provider.set(nodes);
    const own = nodes.find((n) => n.key === "shared:own")?.children?.length ?? 0;
    const got = nodes.find((n) => n.key === "shared:fetched")?.children?.length ?? 0;
    view.description = own || got ? [own ? `${own} shared` : "", got ? `${got} fetched` : ""].filter(Boolean).join(" · ") : undefined;
  };
  const renderSoon = debounce(render, 150, 600);
  context.subscriptions.push(
    { dispose: () => renderSoon.cancel() },
    view.onDidChangeVisibility(render),
    s.data.onDidChange(render),
    s.host.onState((state) => {
      if (state.kind !== "running") health.clear();
    }),
  );

  /** Asks again for the holders of `contentId` (after a repair), now and after `delayMs`. */
  const recheck = (contentId: string, delayMs?: number): void => {
    const run = () => {
      health.forget(contentId);
      render();
    };
    if (delayMs === undefined) return run();
    const timer = setTimeout(run, delayMs);
    context.subscriptions.push({ dispose: () => clearTimeout(timer) });
  };
  registerCommands(context, {
    "peershare.copyShareLink": (arg?: unknown) => copyShareLink(s, arg),
    "peershare.repairShare": (arg?: unknown) => repairShare(s, arg as TreeNode | undefined, recheck),
  });
}

/** Copy Share Link: of the row it was invoked on, of a link given, else of an own share the user picks. */
async function copyShareLink(s: Services, arg: unknown): Promise<string | undefined> {
  let value = arg && typeof arg === "object" ? (arg as TreeNode).copyValue : typeof arg === "string" ? arg : undefined;
  if (!value) {
    const own = s.history.shares();
    if (!own.length) return void vscode.window.showInformationMessage("peershare: nothing shared from this workspace yet");
    const pick = await vscode.window.showQuickPick(
      own.map((r) => ({ label: r.name, description: `${formatBytes(r.size)} · ${shortId(r.contentId, 12)}`, link: r.link })),
      { title: "peershare: Copy Share Link", placeHolder: "Choose a shared file" },
    );
    value = pick?.link;
    if (!value) return;
  }
  if (value.startsWith("peershare://")) value = await withCurrentHints(s, value);
  await copyWithNotice(value, `peershare: ${value.startsWith("peershare://") ? "link" : "content ID"} copied`);
  return value;
}

/** The link with the node's address hints as they are now (so a teammate with nothing set up can follow it); as it is when the node is not running. */
async function withCurrentHints(s: Services, link: string): Promise<string> {
  if (!s.host.isRunning) return link;
  try {
    return (await s.host.request("content.link", { link })).link;
  } catch {
    return link;
  }
}

/** Repair Now on an own share's row: copies it to more nodes until r keep it; `recheck` asks for its holders again. */
async function repairShare(s: Services, node: TreeNode | undefined, recheck: (contentId: string, delayMs?: number) => void): Promise<RepairReport | undefined> {
  const contentId = node?.key?.startsWith("share:") ? node.key.slice("share:".length) : undefined;
  if (!contentId || !(await s.node.require())) return;
  const name = node?.label ?? shortId(contentId, 12);
  let r: RepairReport;
  try {
    r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `peershare: repairing ${name}…` }, () =>
      s.host.request("content.repair", { link: contentId }, LONG_REQUEST_MS),
    );
  } catch (err) {
    return void s.failed(`could not repair ${name}`, err);
  }
  s.log.info(`repair ${contentId}: ${r.holdersBefore} of ${r.replication} holders before; ${r.copies} new copies (${r.bytes} bytes)`);
  // New holders announce themselves once they keep the whole copy: ask again now and a bit later.
  recheck(contentId);
  if (r.copies) recheck(contentId, 3000);
  const made = r.copies ? `copied to ${pluralize(r.copies, "more node")} (${formatBytes(r.bytes)} sent)` : "no new copy: no other live node could take one now";
  void vscode.window.showInformationMessage(`peershare: repaired ${name}: ${r.holdersBefore} of r = ${r.replication} holders before; ${made}.`);
  return r;
}
