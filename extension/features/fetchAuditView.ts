// The Fetch Audit view: who fetched this node's shares (audit.list), served or refused, newest
// first per share, and Show Fetch Audit. The log is asked for while the view shows: when it
// appears, with each refresh, a little after transfer and peer notifications (debounced) and every
// 30 s. A log that does not verify is a warning in the view and, once, a notification. Rows come
// from auditModel.ts.
import * as vscode from "vscode";
import type { AuditListing } from "../../node-host/rpc/api-types";
import { auditDescription, auditNodes, auditWarning } from "../auditModel";
import { registerCommands } from "../commands";
import { debounce } from "../debounce";
import { shortId } from "../format";
import { errorText } from "../nodeHost";
import type { Services } from "../services";
import { parseLinkOrId } from "../shareLink";
import type { TreeNode } from "../treeModel";
import { VIEW, type NodeTreeView } from "../views";

export function registerFetchAuditView(context: vscode.ExtensionContext, s: Services): void {
  const audit = new FetchAudit(s, s.views.create(VIEW.audit, true));
  const { view } = audit.tree;
  const refreshSoon = debounce(() => void (view.visible && audit.refresh()), 2000, 10_000);
  let timer: NodeJS.Timeout | undefined;
  const poll = () => {
    if (timer) clearInterval(timer);
    timer = view.visible ? setInterval(() => void audit.refresh(), 30_000) : undefined;
  };
  s.data.addRefresher(async () => {
    if (view.visible) await audit.refresh();
  });
  context.subscriptions.push(
    { dispose: () => (refreshSoon.cancel(), timer && clearInterval(timer)) },
    view.onDidChangeVisibility((e) => {
      poll();
      if (e.visible) void audit.refresh();
    }),
    s.data.onDidChange(() => audit.render()),
    s.host.onState((state) => {
      if (state.kind !== "running") audit.forget();
    }),
    s.host.onNotification("peers.changed", () => refreshSoon()),
    s.host.onNotification("transfer.progress", () => refreshSoon()),
  );
  registerCommands(context, { "peershare.showAudit": (arg?: unknown) => audit.show(arg) });
}

/** The node's audit log as last read, and the view that shows it. */
class FetchAudit {
  private listing: AuditListing | undefined;
  private warned = false;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly s: Services,
    readonly tree: NodeTreeView,
  ) {}

  /** Forgets the log (the node stopped). */
  forget(): void {
    this.listing = undefined;
  }

  render(): void {
    const { view, provider } = this.tree;
    const running = this.s.host.isRunning;
    const audit = this.listing;
    if (!running || !audit) {
      provider.set([]);
      view.description = undefined;
      view.message = running ? undefined : this.s.node.notRunningMessage();
      return;
    }
    provider.set(auditNodes(audit, (id) => this.nameOfContent(id), Date.now(), new Map(this.s.data.peers.map((p) => [p.id, p]))));
    view.description = auditDescription(audit);
    const warning = auditWarning(audit);
    view.message = warning ? `⚠ ${warning}` : undefined;
  }

  /** Reads the log (one request at a time) and renders. */
  refresh(): Promise<void> {
    if (!this.s.host.isRunning) {
      this.render();
      return Promise.resolve();
    }
    this.inFlight ??= (async () => {
      try {
        this.listing = await this.s.host.request("audit.list", {});
      } catch (err) {
        this.s.log.warn(`audit.list failed: ${errorText(err)}`);
      } finally {
        this.inFlight = undefined;
      }
      this.render();
      this.warnOnce();
    })();
    return this.inFlight;
  }

  /** Show Fetch Audit: the view, and the row of the share it was invoked on (or given). */
  async show(arg: unknown): Promise<AuditListing | undefined> {
    if (!(await this.s.node.require())) return;
    await vscode.commands.executeCommand(`${VIEW.audit}.focus`);
    await this.refresh();
    const node = arg && typeof arg === "object" ? (arg as TreeNode) : undefined;
    const contentId = node?.key?.startsWith("share:") ? node.key.slice("share:".length) : typeof arg === "string" ? parseLinkOrId(arg)?.contentId : undefined;
    if (contentId) {
      const row = this.tree.provider.find(`audit:share:${contentId}`);
      if (row) await this.tree.view.reveal(row, { select: true, focus: true, expand: true });
      else void vscode.window.showInformationMessage(`peershare: no node has fetched ${node?.label ?? shortId(contentId, 12)} from this node yet.`);
    }
    return this.listing;
  }

  /** A log that does not verify is worth one notification per window. */
  private warnOnce(): void {
    const warning = this.listing && auditWarning(this.listing);
    if (!warning || this.warned) return;
    this.warned = true;
    this.s.log.warn(warning);
    void vscode.window.showWarningMessage(`peershare: ${warning}`, "Show Fetch Audit").then((c) => {
      if (c) void vscode.commands.executeCommand(`${VIEW.audit}.focus`);
    });
  }

  private nameOfContent(contentId: string): string | undefined {
    return this.s.history.shares().find((r) => r.contentId === contentId)?.name ?? this.s.data.listing?.contents.find((c) => c.contentId === contentId)?.name ?? undefined;
  }
}
