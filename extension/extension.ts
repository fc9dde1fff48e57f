// peershare's VS Code extension: runs a node-host per window and shows its DHT state.
// All protocol work happens in the node-host; this file wires VS Code UI to its JSON-RPC API.
import * as vscode from "vscode";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { AuditListing, ContactInfo, FetchInfo, LookupResult, NodeInfo, RepairReport, RoutingInfo, ShareInfo, StoreListing, TransferInfo } from "../node-host/rpc/api-types";
import type { FromWebview, NodeStatus } from "../webview-ui/protocol";
import type { FromTrace } from "../webview-ui/traceProtocol";
import type { PeershareApi } from "./api";
import { auditDescription, auditNodes, auditWarning } from "./auditModel";
import { compareTitle, localCandidates, sameNameGlob } from "./compareModel";
import { ContentFileSystem, followTransfer } from "./contentFs";
import { debounce } from "./debounce";
import { formatBytes, formatMs, normalizeKey, pluralize, shortId } from "./format";
import { ShareLinkProvider } from "./links";
import { lookupLog, lookupRows, lookupTitle } from "./lookupModel";
import { errorText, NodeHost, type NodeHostState } from "./nodeHost";
import {
  changedKeys,
  configChanges,
  normalizeSettings,
  planSettingsChange,
  serveArgs,
  SETTING_KEYS,
  SYNCED_AT_START,
  type PeershareSettings,
  type SettingKey,
  unsupportedKeys,
} from "./settings";
import { confirmationWarnings, confirmShareText, SHARE_ANYWAY } from "./publishModel";
import { contentUriParts, formatLink, parseContentUri, parseLinkOrId, SCHEME, type ContentRef } from "./shareLink";
import { StatusCache } from "./replicaHealth";
import { ownContentIds, remember, rememberFetch, sharedNodes, type FetchRecord, type ShareRecord } from "./sharedModel";
import { isForbidden } from "./teamModel";
import { TeamsUi } from "./teams";
import { TRACE_PANEL_TYPE, TracePanel } from "./tracePanel";
import { TRANSFER_PANEL_TYPE, TransferPanel } from "./transferPanel";
import { TransferSet, transfersStatus } from "./transferModel";
import { peerCounts, peerNodes, routingNodes, routingSummary, type TreeNode } from "./treeModel";
import { NodeTreeProvider } from "./views";
import { nativeStatusSuffix, nativeStatusTooltip } from "./nativeStatus";

const VIEW_PEERS = "peershare.peers";
const VIEW_ROUTING = "peershare.routing";
const VIEW_SHARED = "peershare.sharedFiles";
const VIEW_AUDIT = "peershare.audit";
const STATE_SHARES = "peershare.shares";
const STATE_FETCHED = "peershare.fetched";
/** content.fetch and content.share may take long (large files, slow holders). */
const LONG_REQUEST_MS = 24 * 3600_000;

let host: NodeHost | undefined;

export function readSettings(): PeershareSettings {
  const cfg = vscode.workspace.getConfiguration("peershare");
  const raw: Partial<Record<SettingKey, unknown>> = {};
  for (const k of SETTING_KEYS) raw[k] = cfg.get(k);
  return normalizeSettings(raw);
}

/**
 * The passphrase of the node's key file (DATA_DIR/keys.enc), one per storage dir, made at first
 * use. Should it be gone from the secret storage, a key file nobody can open is set aside and the
 * node starts with new keys (a new node ID) rather than failing at every start.
 */
async function nodeKeyPassphrase(secrets: vscode.SecretStorage, dataDir: string, log: vscode.LogOutputChannel): Promise<string> {
  const name = `peershare.keyPassphrase.${createHash("sha256").update(path.resolve(dataDir)).digest("hex").slice(0, 16)}`;
  const kept = await secrets.get(name);
  if (kept) return kept;
  const keyFile = path.join(dataDir, "keys.enc");
  if (fs.existsSync(keyFile)) {
    const aside = `${keyFile}.unopened-${Date.now()}`;
    fs.renameSync(keyFile, aside);
    log.warn(`the passphrase of ${keyFile} is no longer in VS Code's secret storage; the node starts with new keys (the old file is kept as ${aside})`);
  }
  const passphrase = randomBytes(32).toString("base64url");
  await secrets.store(name, passphrase);
  return passphrase;
}

export async function activate(context: vscode.ExtensionContext): Promise<PeershareApi> {
  const log = vscode.window.createOutputChannel("peershare", { log: true });
  context.subscriptions.push(log);

  let settings = readSettings();
  const storage = context.storageUri ?? context.globalStorageUri;
  const dataDir = path.join(storage.fsPath, "node");
  fs.mkdirSync(dataDir, { recursive: true });

  const script = process.env.PEERSHARE_NODE_HOST_SCRIPT || path.join(context.extensionPath, "out", "node-host.js");
  const useOwnRuntime = !settings.nodePath;
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Inside the Electron desktop build, its executable runs as plain Node with this variable.
  if (useOwnRuntime && process.versions.electron) env.ELECTRON_RUN_AS_NODE = "1";
  // The node keeps its keys in a passphrase-protected file in its data dir, under a random
  // passphrase that lives in VS Code's secret storage; the child gets it in its environment.
  delete env.PEERSHARE_PASSPHRASE_FILE;
  try {
    env.PEERSHARE_PASSPHRASE = await nodeKeyPassphrase(context.secrets, dataDir, log);
  } catch (err) {
    // the node then says itself that it has nowhere to keep its keys
    delete env.PEERSHARE_PASSPHRASE;
    log.error(`VS Code's secret storage did not give the node's key passphrase: ${errorText(err)}`);
  }

  const nodeHost = new NodeHost({
    command: settings.nodePath || process.execPath,
    args: () => serveArgs(script, dataDir, settings),
    env,
    cwd: dataDir,
    logger: log,
  });
  host = nodeHost;

  // ---- lazy start --------------------------------------------------------------------
  // The node starts on first use in this window: a peershare view shown, a command run, a
  // `peershare:` file opened, a link followed (or at once with peershare.startNodeOnStartup), so a
  // window that never uses peershare runs no node.
  const nodeScriptMissing = !fs.existsSync(script);
  let startRequested = false;
  /** Starts the node unless it was started already (it may be restarting or have failed since). */
  function startNode(why: string): Promise<void> {
    if (startRequested) return nodeHost.isRunning ? Promise.resolve() : nodeHost.state.kind === "starting" ? nodeHost.start() : Promise.resolve();
    startRequested = true;
    if (nodeScriptMissing) {
      const msg = `the node-host is missing from this installation (${script}); reinstall the extension or run "npm run build:ext"`;
      log.error(msg);
      void vscode.window.showErrorMessage(`peershare: ${msg}`);
      return Promise.reject(new Error(msg));
    }
    log.info(`starting the node (${why})`);
    const started = nodeHost.start();
    started.catch((err) => log.error(`the node did not start: ${errorText(err)}`));
    return started;
  }
  /** True once the node runs, starting it first if this window has not started it yet. */
  async function ensureNode(why: string): Promise<boolean> {
    if (nodeHost.isRunning) return true;
    const kind = nodeHost.state.kind;
    if (kind === "stopped" || kind === "starting") {
      await vscode.window
        .withProgress({ location: vscode.ProgressLocation.Window, title: "peershare: starting the node" }, () => startNode(why))
        .then(undefined, () => undefined);
    }
    return nodeHost.isRunning;
  }

  // ---- views -------------------------------------------------------------------------
  const peersProvider = new NodeTreeProvider();
  const routingProvider = new NodeTreeProvider();
  const sharedProvider = new NodeTreeProvider();
  const auditProvider = new NodeTreeProvider();
  const peersView = vscode.window.createTreeView(VIEW_PEERS, { treeDataProvider: peersProvider, showCollapseAll: false });
  const routingView = vscode.window.createTreeView(VIEW_ROUTING, { treeDataProvider: routingProvider, showCollapseAll: true });
  const sharedView = vscode.window.createTreeView(VIEW_SHARED, { treeDataProvider: sharedProvider });
  const auditView = vscode.window.createTreeView(VIEW_AUDIT, { treeDataProvider: auditProvider, showCollapseAll: true });
  context.subscriptions.push(peersProvider, routingProvider, sharedProvider, auditProvider, peersView, routingView, sharedView, auditView);

  const status = vscode.window.createStatusBarItem("peershare.status", vscode.StatusBarAlignment.Left, 50);
  status.name = "peershare";
  status.command = { command: "peershare.peers.focus", title: "Show Peers" };
  status.show();
  const transferStatus = vscode.window.createStatusBarItem("peershare.transfers", vscode.StatusBarAlignment.Left, 49);
  transferStatus.name = "peershare transfers";
  transferStatus.command = { command: "peershare.showTransfers", title: "Show Transfers" };
  context.subscriptions.push(status, transferStatus);
  const transfers = new TransferSet();
  let listing: StoreListing | undefined;

  let info: NodeInfo | undefined;
  let peers: ContactInfo[] = [];
  let routing: RoutingInfo | undefined;
  let refreshes = 0;
  const refreshWaiters = new Set<() => void>();

  function nodeStatus(): NodeStatus {
    const s = nodeHost.state;
    const counts = peerCounts(peers);
    const base = { peers: counts.total, onlinePeers: counts.online };
    switch (s.kind) {
      case "running":
        return { ...base, state: "running", id: info?.id, host: info?.host, port: info?.port, version: info?.version, startedAt: info?.startedAt };
      case "starting":
        return { ...base, state: "starting", detail: s.attempt ? `attempt ${s.attempt + 1}` : undefined };
      case "restarting":
        return { ...base, state: "restarting", detail: `${s.reason}; restarting in ${formatMs(s.delayMs)}` };
      case "failed":
        return { ...base, state: "failed", detail: s.reason };
      case "stopped":
        return { ...base, state: "stopped" };
    }
  }

  function renderStatusBar(): void {
    const s = nodeHost.state;
    status.backgroundColor = undefined;
    if (s.kind === "running") {
      const c = peerCounts(peers);
      status.text = `$(broadcast) ${pluralize(c.online, "peer")}${nativeStatusSuffix(info?.native)}`;
      status.tooltip = new vscode.MarkdownString(
        `**peershare** node \`${shortId(info?.id ?? "", 16)}\` on ${info?.host}:${info?.port}\n\n${c.online} of ${pluralize(c.total, "known peer")} online${nativeStatusTooltip(info?.native)}`,
      );
    } else if (!startRequested && s.kind === "stopped") {
      status.text = "$(circle-outline) peershare: not started";
      status.tooltip = new vscode.MarkdownString(
        "**peershare**: the node starts when you open a peershare view, run a peershare command or open a shared file.\n\nClick to open the Peers view. (`peershare.startNodeOnStartup` starts it with the window.)",
      );
    } else if (s.kind === "starting" || s.kind === "restarting") {
      status.text = "$(sync~spin) peershare";
      status.tooltip = s.kind === "restarting" ? `peershare: ${s.reason}; restarting` : "peershare: the node is starting";
    } else {
      status.text = "$(debug-disconnect) peershare";
      status.tooltip = s.kind === "failed" ? `peershare: ${s.reason}` : "peershare: the node is stopped";
      status.backgroundColor = s.kind === "failed" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
    }
  }

  function renderTransferStatus(): void {
    const t = transfersStatus(transfers.active());
    if (!t) return transferStatus.hide();
    transferStatus.text = t.text;
    transferStatus.tooltip = t.tooltip;
    transferStatus.show();
  }

  const shareRecords = (): ShareRecord[] => context.workspaceState.get<ShareRecord[]>(STATE_SHARES) ?? [];
  const fetchRecords = (): FetchRecord[] => context.workspaceState.get<FetchRecord[]>(STATE_FETCHED) ?? [];
  // Live holders against r for own shares: asked only while the view is visible, a few at a time,
  // each answer cached for a few seconds (content.status costs the node a lookup and pings).
  const health = new StatusCache({
    fetch: (contentId) => nodeHost.request("content.status", { link: contentId }),
    onChange: () => renderSharedSoon(),
    ttlMs: 10_000,
    concurrency: 2,
  });
  const renderSharedSoon = debounce(() => renderShared(), 150, 600);
  context.subscriptions.push({ dispose: () => renderSharedSoon.cancel() }, sharedView.onDidChangeVisibility(() => renderShared()));
  function renderShared(): void {
    const running = nodeHost.isRunning;
    const nodes = sharedNodes(shareRecords(), fetchRecords(), running ? listing : undefined, Date.now(), running ? (id) => health.get(id) : undefined);
    if (running && sharedView.visible) health.want(ownContentIds(shareRecords(), listing));
    sharedProvider.set(nodes);
    const own = nodes.find((n) => n.key === "shared:own")?.children?.length ?? 0;
    const got = nodes.find((n) => n.key === "shared:fetched")?.children?.length ?? 0;
    sharedView.description = own || got ? [own ? `${own} shared` : "", got ? `${got} fetched` : ""].filter(Boolean).join(" · ") : undefined;
  }
  async function refreshListing(): Promise<void> {
    if (!nodeHost.isRunning) return;
    try {
      listing = await nodeHost.request("content.ls", {});
    } catch (err) {
      log.warn(`content.ls failed: ${errorText(err)}`);
    }
    renderShared();
  }
  async function recordShare(r: ShareInfo, filePath: string): Promise<void> {
    const rec: ShareRecord = { contentId: r.contentId, link: r.link, name: r.name, size: r.size, public: r.public, sharedAt: Date.now(), path: filePath, teams: r.teams };
    await context.workspaceState.update(STATE_SHARES, remember(shareRecords(), rec));
    await refreshListing();
  }
  async function recordFetch(r: FetchInfo, link: string): Promise<void> {
    const rec: FetchRecord = { contentId: r.contentId, link, name: r.name, size: r.size, path: r.path, fetchedAt: Date.now() };
    await context.workspaceState.update(STATE_FETCHED, rememberFetch(fetchRecords(), rec));
    await refreshListing();
  }

  // ---- fetch audit ---------------------------------------------------------------------------
  // Who fetched this node's shares (audit.list), asked while the view is visible: when it shows, on
  // Refresh, a little after transfer and peer notifications (debounced), and every 30 s.
  let audit: AuditListing | undefined;
  let auditWarned = false;
  let auditInFlight: Promise<void> | undefined;
  const nameOfContent = (contentId: string): string | undefined =>
    shareRecords().find((r) => r.contentId === contentId)?.name ?? listing?.contents.find((c) => c.contentId === contentId)?.name ?? undefined;
  function renderAudit(): void {
    const running = nodeHost.isRunning;
    if (!running || !audit) {
      auditProvider.set([]);
      auditView.description = undefined;
      auditView.message = running ? undefined : stateMessage(nodeHost.state, startRequested);
      return;
    }
    auditProvider.set(auditNodes(audit, nameOfContent, Date.now(), new Map(peers.map((p) => [p.id, p]))));
    auditView.description = auditDescription(audit);
    const warning = auditWarning(audit);
    auditView.message = warning ? `⚠ ${warning}` : undefined;
  }
  function refreshAudit(): Promise<void> {
    if (!nodeHost.isRunning) {
      renderAudit();
      return Promise.resolve();
    }
    auditInFlight ??= (async () => {
      try {
        audit = await nodeHost.request("audit.list", {});
      } catch (err) {
        log.warn(`audit.list failed: ${errorText(err)}`);
      } finally {
        auditInFlight = undefined;
      }
      renderAudit();
      const warning = audit && auditWarning(audit);
      if (warning && !auditWarned) {
        auditWarned = true;
        log.warn(warning);
        void vscode.window.showWarningMessage(`peershare: ${warning}`, "Show Fetch Audit").then((c) => {
          if (c) void vscode.commands.executeCommand(`${VIEW_AUDIT}.focus`);
        });
      }
    })();
    return auditInFlight;
  }
  const refreshAuditSoon = debounce(() => void (auditView.visible && refreshAudit()), 2000, 10_000);
  let auditTimer: NodeJS.Timeout | undefined;
  const auditPolling = () => {
    if (auditTimer) clearInterval(auditTimer);
    auditTimer = auditView.visible ? setInterval(() => void refreshAudit(), 30_000) : undefined;
  };
  context.subscriptions.push(
    { dispose: () => (refreshAuditSoon.cancel(), auditTimer && clearInterval(auditTimer)) },
    auditView.onDidChangeVisibility((e) => {
      auditPolling();
      if (e.visible) void refreshAudit();
    }),
  );

  function renderViews(): void {
    const now = Date.now();
    const running = nodeHost.isRunning;
    peersProvider.set(running ? peerNodes(peers, now) : []);
    routingProvider.set(running && routing ? routingNodes(routing, now) : []);
    const notRunning = stateMessage(nodeHost.state, startRequested);
    peersView.message = notRunning;
    routingView.message = notRunning;
    const c = peerCounts(peers);
    peersView.description = running ? `${c.online}/${c.total} online` : undefined;
    peersView.badge = undefined;
    routingView.description = running && routing ? routingSummary(routing) : undefined;
    teamsUi.setNotRunning(notRunning);
    renderShared();
    renderAudit();
    renderStatusBar();
    TransferPanel.post({ type: "status", status: nodeStatus() });
  }

  async function refresh(): Promise<void> {
    if (!nodeHost.isRunning) {
      renderViews();
      return;
    }
    try {
      const [p, r, l] = await Promise.all([
        nodeHost.request("dht.peers", {}),
        nodeHost.request("dht.routing", {}),
        nodeHost.request("content.ls", {}).catch((err) => {
          log.warn(`content.ls failed: ${errorText(err)}`);
          return listing;
        }),
        teamsUi.refresh(),
      ]);
      peers = p;
      routing = r;
      listing = l;
      if (info) info = { ...info, peers: p.length };
    } catch (err) {
      log.warn(`refresh failed: ${errorText(err)}`);
    }
    refreshes++;
    renderViews();
    if (auditView.visible) await refreshAudit();
    for (const w of [...refreshWaiters]) w();
  }
  const scheduleRefresh = debounce(() => void refresh(), 300, 1500);
  context.subscriptions.push({ dispose: () => scheduleRefresh.cancel() });

  // ---- node lifecycle ------------------------------------------------------------------
  const offeredRestartFor = new Set<string>();
  async function offerRestart(keys: string[], why: string): Promise<void> {
    const fresh = keys.filter((k) => !offeredRestartFor.has(k));
    if (!fresh.length) return;
    fresh.forEach((k) => offeredRestartFor.add(k));
    const choice = await vscode.window.showInformationMessage(
      `peershare: ${fresh.map((k) => `peershare.${k}`).join(", ")} ${why}. Restart the node to apply ${fresh.length === 1 ? "it" : "them"}?`,
      "Restart Node",
    );
    if (choice === "Restart Node") await vscode.commands.executeCommand("peershare.restartNode");
  }

  /** Pushes settings into the running node; returns the settings that need a restart. */
  async function applyLive(keys: SettingKey[], always = false): Promise<SettingKey[]> {
    if (!nodeHost.isRunning || !keys.length) return [];
    const needRestart: SettingKey[] = [];
    let nodeConfig;
    try {
      nodeConfig = await nodeHost.request("config.get", {});
    } catch (err) {
      log.warn(`config.get failed: ${errorText(err)}`);
      return keys;
    }
    const unknown = unsupportedKeys(nodeConfig, keys);
    if (unknown.length) log.info(`this node does not support ${unknown.map((k) => `peershare.${k}`).join(", ")} yet; left unchanged`);
    for (const change of configChanges(settings, nodeConfig, keys, always)) {
      try {
        const r = await nodeHost.request("config.set", { key: change.key, value: change.value });
        log.info(`config.set ${change.key}=${change.value}: ${r.appliedLive ? "applied" : "applies at the next start"}`);
        if (!r.appliedLive) needRestart.push(change.setting);
      } catch (err) {
        log.warn(`config.set ${change.key} failed: ${errorText(err)}`);
        needRestart.push(change.setting);
      }
    }
    return needRestart;
  }

  context.subscriptions.push(
    { dispose: () => refreshWaiters.clear() },
    nodeHost.onState((s) => {
      if (s.kind !== "running") {
        info = undefined;
        health.clear();
        audit = undefined;
      }
      if (s.kind === "restarting") {
        void vscode.window
          .showWarningMessage(`peershare: ${s.reason}. Restarting it in ${formatMs(s.delayMs)} (attempt ${s.attempt}).`, "Show Log")
          .then((c) => c && log.show());
      } else if (s.kind === "failed") {
        void vscode.window.showErrorMessage(`peershare: ${s.reason}. The node was not restarted.`, "Restart Node", "Show Log").then((c) => {
          if (c === "Restart Node") void vscode.commands.executeCommand("peershare.restartNode");
          else if (c === "Show Log") log.show();
        });
      }
      void vscode.commands.executeCommand("setContext", "peershare.nodeRunning", s.kind === "running");
      renderViews();
    }),
    nodeHost.onReady(() => {
      void (async () => {
        try {
          info = await nodeHost.request("node.info", {});
        } catch (err) {
          log.warn(`node.info failed: ${errorText(err)}`);
        }
        await refresh();
        await loadTransfers();
        const pending = await applyLive(SYNCED_AT_START);
        if (pending.length) void offerRestart(pending, "will apply when the node restarts");
      })();
    }),
    nodeHost.onNotification("peers.changed", () => {
      scheduleRefresh();
      refreshAuditSoon();
    }),
    nodeHost.onNotification("transfer.progress", (t) => {
      refreshAuditSoon();
      const row = transfers.update(t);
      TransferPanel.post({ type: "transferUpdate", transfer: row });
      renderTransferStatus();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration("peershare")) return;
      const next = readSettings();
      const keys = changedKeys(settings, next);
      settings = next;
      if (!keys.length) return;
      log.info(`settings changed: ${keys.join(", ")}`);
      if (!startRequested) return; // the node takes them when it starts
      void (async () => {
        const plan = planSettingsChange(keys);
        const needRestart = [...plan.restart, ...(await applyLive(plan.live, true))];
        keys.forEach((k) => offeredRestartFor.delete(k));
        if (needRestart.length) await offerRestart(needRestart, "changed");
      })();
    }),
    { dispose: () => void nodeHost.stop() },
  );

  // ---- commands ------------------------------------------------------------------------
  /** True once the node runs (started first on the window's first use); otherwise tells the user. */
  const requireNode = async (): Promise<boolean> => {
    if (await ensureNode("a command")) return true;
    if (nodeScriptMissing) return false; // said already
    void vscode.window.showWarningMessage(`peershare: ${stateMessage(nodeHost.state) ?? "the node is not running"}`, "Restart Node").then((c) => {
      if (c) void vscode.commands.executeCommand("peershare.restartNode");
    });
    return false;
  };
  /** Logs and shows a failure; a fetch every holder refused offers to join a team (then `retry`). */
  const failed = (what: string, err: unknown, retry?: () => unknown) => {
    if (isForbidden(err)) return teamsUi.showRefusal(what, err, retry);
    log.error(`${what}: ${errorText(err)}`);
    void vscode.window.showErrorMessage(`peershare: ${what}: ${errorText(err)}`);
  };
  const register = (id: string, fn: (...args: unknown[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));

  // ---- teams -----------------------------------------------------------------------------
  const teamsUi = new TeamsUi({ nodeHost, log, requireNode, failed, register });
  context.subscriptions.push(teamsUi);

  // A peershare view showing is a use of peershare: the node starts.
  for (const view of [peersView, routingView, sharedView, teamsUi.view, auditView] as vscode.TreeView<TreeNode>[]) {
    const startIfShown = () => {
      if (view.visible && !startRequested) void startNode(`the ${view.title ?? "peershare"} view is shown`).catch(() => undefined);
    };
    context.subscriptions.push(view.onDidChangeVisibility(startIfShown));
  }

  /** A key passed by a caller: a string, or a tree node (context menu) whose ID it is. */
  const keyArg = (arg: unknown): string | undefined => {
    if (typeof arg === "string") return normalizeKey(arg);
    if (arg && typeof arg === "object" && typeof (arg as TreeNode).copyValue === "string") return normalizeKey((arg as TreeNode).copyValue!);
    return undefined;
  };

  const askKey = async (title: string): Promise<string | undefined> => {
    const input = await vscode.window.showInputBox({
      title,
      prompt: "A 256-bit key (node ID or content ID) as 64 hex digits",
      placeHolder: "e.g. 3fa1…(64 hex digits)",
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() === "" || normalizeKey(v) ? undefined : "Enter 64 hexadecimal digits"),
    });
    return input ? normalizeKey(input) : undefined;
  };

  async function lookup(key: string): Promise<LookupResult | undefined> {
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `peershare: looking up ${shortId(key, 12)}` },
        () => nodeHost.request("dht.lookup", { key }),
      );
      log.info(lookupLog(result));
      return result;
    } catch (err) {
      failed("lookup failed", err);
      return undefined;
    }
  }

  register("peershare.lookupKey", async (arg?: unknown) => {
    if (!(await requireNode())) return;
    const key = keyArg(arg) ?? (await askKey("peershare: Look Up Key"));
    if (!key) return;
    const result = await lookup(key);
    if (result) await showLookup(result);
    return result;
  });

  async function showLookup(result: LookupResult): Promise<void> {
    type Item = vscode.QuickPickItem & { copyValue?: string; trace?: true };
    const items: Item[] = [
      { label: "$(graph) Show Trace", description: "every hop: distances to the key, round trips, answers; and the routing table's heat map", trace: true },
      ...lookupRows(result).map((r): Item =>
        r.kind === "separator"
          ? { label: r.label, kind: vscode.QuickPickItemKind.Separator }
          : { label: r.label, description: r.description, detail: r.detail, copyValue: r.copyValue },
      ),
    ];
    const pick = await vscode.window.showQuickPick(items, {
      title: lookupTitle(result),
      placeHolder: "Show the trace, or choose a row to copy its ID or value",
      matchOnDescription: true,
    });
    if (pick?.trace) await openTrace(result);
    else if (pick?.copyValue) {
      await vscode.env.clipboard.writeText(pick.copyValue);
      vscode.window.setStatusBarMessage("peershare: copied", 3000);
    }
  }

  // ---- lookup trace panel -------------------------------------------------------------------
  async function sendRouting(): Promise<RoutingInfo | undefined> {
    if (!nodeHost.isRunning) return routing;
    try {
      routing = await nodeHost.request("dht.routing", {});
    } catch (err) {
      log.warn(`dht.routing failed: ${errorText(err)}`);
    }
    if (routing) TracePanel.instance?.send({ type: "routing", routing });
    return routing;
  }
  async function openTrace(result: LookupResult): Promise<void> {
    TracePanel.show(context.extensionUri, traceHost, result, routing);
    await sendRouting();
  }
  const traceHost = {
    onMessage: async (m: FromTrace) => {
      if (m.type === "ready") {
        void sendRouting();
      } else if (m.type === "copy") {
        await vscode.env.clipboard.writeText(m.value);
        vscode.window.setStatusBarMessage("peershare: copied", 3000);
      } else if (m.type === "lookupAgain") {
        if (!(await requireNode())) return;
        TracePanel.instance?.send({ type: "busy", busy: true });
        const result = await lookup(m.key);
        if (result) await openTrace(result);
        else TracePanel.instance?.send({ type: "busy", busy: false });
      }
    },
  };
  register("peershare.showLookupTrace", async (arg?: unknown) => {
    if (!(await requireNode())) return;
    const key = keyArg(arg) ?? (await askKey("peershare: Show Lookup Trace"));
    if (!key) return;
    const result = await lookup(key);
    if (result) await openTrace(result);
    return result;
  });
  context.subscriptions.push(
    vscode.window.registerWebviewPanelSerializer(TRACE_PANEL_TYPE, {
      deserializeWebviewPanel: async (panel) => {
        TracePanel.revive(panel, context.extensionUri, traceHost);
        void startNode("the lookup trace panel").catch(() => undefined);
      },
    }),
    { dispose: () => TracePanel.instance?.dispose() },
  );

  register("peershare.showRoutingTable", async () => {
    await vscode.commands.executeCommand(`${VIEW_ROUTING}.focus`);
  });

  register("peershare.refresh", async () => {
    if (!(await requireNode())) return;
    await refresh();
  });

  register("peershare.putValue", async () => {
    if (!(await requireNode())) return;
    const name = await vscode.window.showInputBox({
      title: "peershare: Put Value (1/2)",
      prompt: "Name of the record (its key is derived from your node and this name)",
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() ? undefined : "Enter a name"),
    });
    if (!name) return;
    const value = await vscode.window.showInputBox({ title: "peershare: Put Value (2/2)", prompt: `Value for "${name}"`, ignoreFocusOut: true });
    if (value === undefined) return;
    try {
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: "peershare: storing…" }, () =>
        nodeHost.request("dht.put", { name: name.trim(), value }),
      );
      log.info(`put "${r.name}" seq ${r.seq} key ${r.key} stored on ${r.storedOn} nodes`);
      const c = await vscode.window.showInformationMessage(`peershare: stored "${r.name}" under ${shortId(r.key, 12)} on ${pluralize(r.storedOn, "node")}.`, "Copy Key");
      if (c) await vscode.env.clipboard.writeText(r.key);
    } catch (err) {
      failed("put failed", err);
    }
  });

  register("peershare.getValue", async (arg?: unknown) => {
    if (!(await requireNode())) return;
    let key = keyArg(arg);
    if (!key) {
      const input = await vscode.window.showInputBox({
        title: "peershare: Get Value",
        prompt: "Key of the record (64 hex digits)",
        ignoreFocusOut: true,
        validateInput: (v) => (v.trim() === "" || normalizeKey(v) ? undefined : "Enter 64 hexadecimal digits"),
      });
      key = input ? normalizeKey(input) : undefined;
      if (!key) return;
    }
    try {
      const v = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: "peershare: fetching…" }, () =>
        nodeHost.request("dht.get", { key }),
      );
      log.info(`get ${key}: "${v.name}" seq ${v.seq} (${v.encoding}) ${v.value.slice(0, 200)}`);
      const shown = v.encoding === "utf8" ? v.value : `(base64) ${v.value}`;
      const c = await vscode.window.showInformationMessage(`peershare: "${v.name}" = ${shown.length > 200 ? `${shown.slice(0, 200)}…` : shown}`, "Copy Value");
      if (c) await vscode.env.clipboard.writeText(v.value);
    } catch (err) {
      failed("get failed", err);
    }
  });

  register("peershare.copyNodeId", async (arg?: unknown) => {
    const fromTree = arg && typeof arg === "object" && "copyValue" in arg ? (arg as TreeNode).copyValue : undefined;
    let id = fromTree ?? (typeof arg === "string" ? arg : undefined);
    if (!id) {
      if (!(await requireNode())) return;
      try {
        id = (info ??= await nodeHost.request("node.info", {})).id;
      } catch (err) {
        return failed("could not read the node ID", err);
      }
    }
    await vscode.env.clipboard.writeText(id);
    vscode.window.showInformationMessage(`peershare: copied ${fromTree ? "peer" : "node"} ID ${shortId(id, 12)}`);
  });

  register("peershare.restartNode", async () => {
    log.info("restarting the node on request");
    try {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: "peershare: restarting node" }, () => nodeHost.restart());
    } catch (err) {
      failed("the node did not restart", err);
    }
  });

  register("peershare.showLog", () => log.show());

  async function loadTransfers(): Promise<void> {
    if (!nodeHost.isRunning) return;
    try {
      transfers.merge(await nodeHost.request("transfer.list", {}));
    } catch (err) {
      log.warn(`transfer.list failed: ${errorText(err)}`);
      return;
    }
    TransferPanel.post({ type: "transfers", transfers: transfers.rows() });
    renderTransferStatus();
  }

  const panelHost = {
    status: nodeStatus,
    transfers: () => transfers.rows(),
    onMessage: async (m: FromWebview) => {
      if (m.type === "ready") {
        void loadTransfers();
      } else if (m.type === "command") {
        const commands = { restartNode: "peershare.restartNode", copyNodeId: "peershare.copyNodeId", showLog: "peershare.showLog" } as const;
        void vscode.commands.executeCommand(commands[m.command]);
      } else if (m.type === "transferAction") {
        if (m.action === "open") {
          const p = transfers.get(m.id)?.path;
          if (p) void vscode.commands.executeCommand("vscode.open", vscode.Uri.file(p));
          return;
        }
        if (!(await requireNode())) return;
        const method = `transfer.${m.action}` as const;
        nodeHost.request(method, { id: m.id }).then(
          (t) => {
            log.info(`transfer ${m.id}: ${m.action} → ${t.state}`);
            TransferPanel.post({ type: "transferUpdate", transfer: transfers.update(t) });
            renderTransferStatus();
          },
          (err) => failed(`could not ${m.action} the transfer`, err),
        );
      }
    },
  };
  register("peershare.showTransfers", () => {
    TransferPanel.show(context.extensionUri, panelHost);
    void startNode("the transfer panel").catch(() => undefined);
  });
  context.subscriptions.push(
    vscode.window.registerWebviewPanelSerializer(TRANSFER_PANEL_TYPE, {
      deserializeWebviewPanel: async (panel) => {
        TransferPanel.revive(panel, context.extensionUri, panelHost);
        void startNode("the transfer panel").catch(() => undefined);
      },
    }),
    { dispose: () => TransferPanel.instance?.dispose() },
  );

  // ---- sharing and fetching ----------------------------------------------------------------
  const transferListeners = new Set<(t: TransferInfo) => void>();
  context.subscriptions.push(
    nodeHost.onNotification("transfer.progress", (t) => {
      for (const l of [...transferListeners]) l(t);
    }),
    { dispose: () => transferListeners.clear() },
  );
  const onTransfer = (l: (t: TransferInfo) => void): vscode.Disposable => {
    transferListeners.add(l);
    return new vscode.Disposable(() => transferListeners.delete(l));
  };

  const contentFs = new ContentFileSystem(
    {
      ensureRunning: () => ensureNode("a peershare: file is opened"),
      info: (link) => nodeHost.request("content.info", { link }),
      fetch: (link, out) => nodeHost.request("content.fetch", { link, out, cache: true }, LONG_REQUEST_MS), // the editor's copy goes when the window closes; the store's stays
      cancel: (id) => nodeHost.request("transfer.cancel", { id }),
      onTransfer,
    },
    path.join(storage.fsPath, "open"),
  );
  contentFs.clearCache();
  ContentFileSystem.register(context, contentFs);
  ShareLinkProvider.register(context);

  /** A link or content ID given by a caller: a string, a tree node (its copy value) or an editor URI. */
  const refArg = (arg: unknown): ContentRef | undefined => {
    if (typeof arg === "string") return parseLinkOrId(arg);
    if (arg instanceof vscode.Uri) return parseLinkOrId(arg.toString(true));
    if (arg && typeof arg === "object" && typeof (arg as TreeNode).copyValue === "string") return parseLinkOrId((arg as TreeNode).copyValue!);
    return undefined;
  };
  const askLink = async (title: string): Promise<ContentRef | undefined> => {
    const input = await vscode.window.showInputBox({
      title,
      prompt: "A share link (peershare://…#k=…) or, for a public share, its content ID (64 hex digits)",
      placeHolder: "peershare://…",
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() === "" || parseLinkOrId(v) ? undefined : "Enter a peershare:// link or a 64-hex-digit content ID"),
    });
    return input ? parseLinkOrId(input) : undefined;
  };

  /** The files a Share command was invoked on (explorer selection, editor tab), else the active editor's. */
  const filesArg = (arg: unknown, all: unknown): vscode.Uri[] => {
    if (Array.isArray(all) && all.length && all.every((u) => u instanceof vscode.Uri)) return all as vscode.Uri[];
    if (arg instanceof vscode.Uri) return [arg];
    if (typeof arg === "string") return [vscode.Uri.file(arg)];
    const active = vscode.window.activeTextEditor?.document.uri;
    return active && active.scheme === "file" ? [active] : [];
  };

  register("peershare.shareFile", async (arg?: unknown, all?: unknown) => {
    if (!(await requireNode())) return;
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
      if (!picked?.length) return;
      files = picked;
    }
    const notLocal = files.filter((f) => f.scheme !== "file");
    if (notLocal.length) {
      void vscode.window.showErrorMessage(`peershare: only files on disk can be shared (${notLocal[0].toString(true)})`);
      files = files.filter((f) => f.scheme === "file");
    }
    if (!files.length) return;
    // In several teams: which of them may read it (in zero or one, nothing to ask).
    const teams = await teamsUi.askShareTeams();
    if (!teams) return;
    const results: ShareInfo[] = [];
    for (const file of files) {
      const name = path.basename(file.fsPath);
      const share = (force: boolean) =>
        vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `peershare: sharing ${name}…` }, () =>
          nodeHost.request("content.share", { path: file.fsPath, ...(teams.length ? { teams } : {}), ...(force ? { force } : {}) }, LONG_REQUEST_MS),
        );
      let r: ShareInfo;
      try {
        r = await share(false);
      } catch (err) {
        // git-ignored, secret-looking or over the size limit: the node shares it only once confirmed
        const warnings = confirmationWarnings(err);
        if (!warnings) {
          failed(`could not share ${name}`, err);
          continue;
        }
        log.info(`${file.fsPath} needs confirmation before it is shared: ${warnings.map((w) => w.message).join("; ")}`);
        const { message, detail } = confirmShareText(name, warnings);
        const choice = await vscode.window.showWarningMessage(message, { modal: true, detail }, SHARE_ANYWAY);
        if (choice !== SHARE_ANYWAY) {
          log.info(`${file.fsPath}: not shared (not confirmed)`);
          continue;
        }
        try {
          r = await share(true);
        } catch (err2) {
          failed(`could not share ${name}`, err2);
          continue;
        }
        log.info(`${file.fsPath}: shared after confirmation`);
      }
      log.info(`shared ${file.fsPath}: ${r.contentId} (${r.size} bytes, ${r.chunks} chunks, announced to ${r.announcedTo} nodes)`);
      results.push(r);
      await recordShare(r, file.fsPath);
      void vscode.window
        .showInformationMessage(
          `peershare: shared ${r.name} (${formatBytes(r.size)}${r.teams?.length ? `, readable by ${r.teams.length === 1 ? "team" : "teams"} ${r.teams.join(", ")}` : ""}, announced to ${pluralize(r.announcedTo, "node")}${r.replicas ? `, copied to ${r.replicas}` : ""}): ${r.link}`,
          "Copy Link",
        )
        .then(async (c) => {
          if (c !== "Copy Link") return;
          await vscode.env.clipboard.writeText(r.link);
          vscode.window.setStatusBarMessage("peershare: link copied", 3000);
        });
    }
    return results.length === 1 ? results[0] : results;
  });

  register("peershare.fetchByHash", async (arg?: unknown, folderArg?: unknown) => {
    if (!(await requireNode())) return;
    const ref = refArg(arg) ?? (await askLink("peershare: Fetch by Hash"));
    if (!ref) return;
    let folder = folderArg instanceof vscode.Uri ? folderArg : typeof folderArg === "string" ? vscode.Uri.file(folderArg) : undefined;
    if (!folder) {
      const picked = await vscode.window.showOpenDialog({
        title: "peershare: Fetch by Hash: folder to save into",
        canSelectFiles: false,
        canSelectFolders: true,
        canSelectMany: false,
        openLabel: "Fetch Here",
        defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
      });
      if (!picked?.length) return;
      folder = picked[0];
    }
    const link = formatLink(ref);
    let r: FetchInfo;
    try {
      r = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `peershare: fetching ${shortId(ref.contentId, 12)}`, cancellable: true },
        async (progress, token) => {
          const follow = followTransfer({ onTransfer }, ref.contentId, progress);
          const cancel = token.onCancellationRequested(() => {
            const id = follow.id();
            if (id) void nodeHost.request("transfer.cancel", { id }).catch(() => undefined);
          });
          try {
            return await nodeHost.request("content.fetch", { link, out: folder.fsPath + path.sep }, LONG_REQUEST_MS);
          } finally {
            cancel.dispose();
            follow.dispose();
          }
        },
      );
    } catch (err) {
      return failed(`could not fetch ${shortId(ref.contentId, 12)}`, err, () => vscode.commands.executeCommand("peershare.fetchByHash", link, folder));
    }
    log.info(`fetched ${r.contentId} into ${r.path}: ${r.size} bytes, ${r.bytesFetched} fetched from ${r.holdersUsed} holders in ${r.durationMs} ms`);
    await recordFetch(r, link);
    void vscode.window.showInformationMessage(`peershare: fetched ${r.name} (${formatBytes(r.size)}) into ${r.path}`, "Open", "Reveal in Explorer").then((c) => {
      if (c === "Open") void vscode.commands.executeCommand("vscode.open", vscode.Uri.file(r.path));
      else if (c === "Reveal in Explorer") void vscode.commands.executeCommand("revealInExplorer", vscode.Uri.file(r.path));
    });
    return r;
  });

  /** Opens a shared file in an editor tab (peershare: URI); returns the URI. */
  async function openShared(ref: ContentRef): Promise<vscode.Uri | undefined> {
    const link = formatLink(ref);
    let name: string;
    try {
      const info = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `peershare: looking up ${shortId(ref.contentId, 12)}` },
        () => contentFs.info(ref),
      );
      name = info.name;
    } catch (err) {
      failed(`could not open ${shortId(ref.contentId, 12)}`, err, () => openShared(ref));
      return undefined;
    }
    const uri = vscode.Uri.from(contentUriParts(ref, name));
    log.info(`opening ${link.replace(/#k=.*/, "#k=…")} as ${uri.with({ query: "" }).toString(true)}`);
    await vscode.commands.executeCommand("vscode.open", uri);
    return uri;
  }

  register("peershare.openShared", async (arg?: unknown) => {
    if (!(await requireNode())) return;
    const ref = refArg(arg) ?? (await askLink("peershare: Open Shared Hash"));
    if (!ref) return;
    return openShared(ref);
  });

  register("peershare.openSharedItem", async (arg?: unknown) => {
    const node = arg as TreeNode | undefined;
    const open = node?.open;
    if (!open) return;
    if (open.kind === "file") {
      if (!fs.existsSync(open.path)) return void vscode.window.showWarningMessage(`peershare: ${open.path} is no longer there`);
      return vscode.commands.executeCommand("vscode.open", vscode.Uri.file(open.path));
    }
    if (!(await requireNode())) return;
    const ref = parseLinkOrId(open.link);
    if (ref) return openShared(ref);
  });

  register("peershare.copyShareLink", async (arg?: unknown) => {
    let value = arg && typeof arg === "object" ? (arg as TreeNode).copyValue : typeof arg === "string" ? arg : undefined;
    if (!value) {
      const own = shareRecords();
      if (!own.length) return void vscode.window.showInformationMessage("peershare: nothing shared from this workspace yet");
      const pick = await vscode.window.showQuickPick(
        own.map((r) => ({ label: r.name, description: `${formatBytes(r.size)} · ${shortId(r.contentId, 12)}`, link: r.link })),
        { title: "peershare: Copy Share Link", placeHolder: "Choose a shared file" },
      );
      value = pick?.link;
      if (!value) return;
    }
    await vscode.env.clipboard.writeText(value);
    const isLink = value.startsWith("peershare://");
    vscode.window.setStatusBarMessage(`peershare: ${isLink ? "link" : "content ID"} copied`, 3000);
    return value;
  });

  register("peershare.repairShare", async (arg?: unknown) => {
    const node = arg as TreeNode | undefined;
    const contentId = node?.key?.startsWith("share:") ? node.key.slice("share:".length) : undefined;
    if (!contentId || !(await requireNode())) return;
    const name = node?.label ?? shortId(contentId, 12);
    let r: RepairReport;
    try {
      r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `peershare: repairing ${name}…` }, () =>
        nodeHost.request("content.repair", { link: contentId }, LONG_REQUEST_MS),
      );
    } catch (err) {
      return failed(`could not repair ${name}`, err);
    }
    log.info(`repair ${contentId}: ${r.holdersBefore} of ${r.replication} holders before; ${r.copies} new copies (${r.bytes} bytes)`);
    // New holders announce themselves once they keep the whole copy: ask again now and a bit later.
    const recheck = () => {
      health.forget(contentId);
      renderShared();
    };
    recheck();
    if (r.copies) {
      const timer = setTimeout(recheck, 3000);
      context.subscriptions.push({ dispose: () => clearTimeout(timer) });
    }
    const made = r.copies ? `copied to ${pluralize(r.copies, "more node")} (${formatBytes(r.bytes)} sent)` : "no new copy: no other live node could take one now";
    void vscode.window.showInformationMessage(`peershare: repaired ${name}: ${r.holdersBefore} of r = ${r.replication} holders before; ${made}.`);
    return r;
  });

  register("peershare.showAudit", async (arg?: unknown) => {
    if (!(await requireNode())) return;
    await vscode.commands.executeCommand(`${VIEW_AUDIT}.focus`);
    await refreshAudit();
    const node = arg && typeof arg === "object" ? (arg as TreeNode) : undefined;
    const contentId = node?.key?.startsWith("share:") ? node.key.slice("share:".length) : typeof arg === "string" ? parseLinkOrId(arg)?.contentId : undefined;
    if (contentId) {
      const row = auditProvider.find(`audit:share:${contentId}`);
      if (row) await auditView.reveal(row, { select: true, focus: true, expand: true });
      else void vscode.window.showInformationMessage(`peershare: no node has fetched ${node?.label ?? shortId(contentId, 12)} from this node yet.`);
    }
    return audit;
  });

  // ---- compare with a local file ---------------------------------------------------------------
  /** The `peershare:` file of the active editor tab (text, image preview or binary), if any. */
  const activeSharedUri = (): vscode.Uri | undefined => {
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    const uri = input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom ? input.uri : vscode.window.activeTextEditor?.document.uri;
    return uri?.scheme === SCHEME ? uri : undefined;
  };

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

  register("peershare.compareWithLocal", async (arg?: unknown, localArg?: unknown) => {
    let sharedUri = arg instanceof vscode.Uri && arg.scheme === SCHEME ? arg : arg === undefined ? activeSharedUri() : undefined;
    let ref: ContentRef | undefined = sharedUri ? parseContentUri(sharedUri) : refArg(arg);
    if (!ref) {
      ref = await askLink("peershare: Compare Shared File with Local File");
      if (!ref) return;
    }
    const contentId = ref.contentId;
    // an own share: the file it was made from is the first candidate
    const sourcePath = shareRecords().find((r) => r.contentId === contentId)?.path;
    if (!(await requireNode())) return;
    let name = sharedUri ? parseContentUri(sharedUri)?.name : undefined;
    if (!sharedUri || !name) {
      const r = ref;
      try {
        name = (await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `peershare: looking up ${shortId(contentId, 12)}` }, () => contentFs.info(r))).name;
      } catch (err) {
        return failed(`could not open ${shortId(contentId, 12)}`, err);
      }
      sharedUri = vscode.Uri.from(contentUriParts(ref, name));
    }
    const local = localArg instanceof vscode.Uri ? localArg : typeof localArg === "string" ? vscode.Uri.file(localArg) : await pickLocalFile(name, sourcePath);
    if (!local) return;
    log.info(`comparing ${sharedUri.with({ query: "" }).toString(true)} with ${local.fsPath}`);
    await vscode.commands.executeCommand("vscode.diff", sharedUri, local, compareTitle(name, contentId, path.basename(local.fsPath)));
    return { shared: sharedUri, local };
  });

  // ---- start -----------------------------------------------------------------------------
  renderViews();
  const eager = vscode.workspace.getConfiguration("peershare").get<boolean>("startNodeOnStartup", false);
  const shown = [peersView, routingView, sharedView, teamsUi.view, auditView].find((v) => v.visible);
  if (eager || shown) void startNode(eager ? "peershare.startNodeOnStartup is set" : `the ${shown?.title ?? "peershare"} view is shown`).catch(() => undefined);
  else log.info("the node starts on first use (a peershare view, command, shared file or link)");

  return makeApi();

  function makeApi(): PeershareApi {
    return {
      state: () => nodeHost.state,
      pid: () => nodeHost.pid,
      request: async (method, params) => {
        if (!nodeHost.isRunning) await ensureNode("an API call");
        return nodeHost.request(method, params);
      },
      snapshot: () => ({ info, peers, routing, refreshes, transfers: transfers.rows(), shared: sharedProvider.items, teams: teamsUi.items, audit: auditProvider.items, started: startRequested }),
      whenReady: (timeoutMs = 30_000) =>
        new Promise<NodeInfo>((resolve, reject) => {
          void startNode("an API call").catch(() => undefined);
          const done = (v: NodeInfo | Error) => {
            clearTimeout(timer);
            sub.dispose();
            if (v instanceof Error) reject(v);
            else resolve(v);
          };
          const tryNow = () => {
            if (nodeHost.isRunning) nodeHost.request("node.info", {}).then(done, (e) => done(e instanceof Error ? e : new Error(String(e))));
          };
          const timer = setTimeout(() => done(new Error(`the node was not ready within ${timeoutMs} ms`)), timeoutMs);
          const sub = nodeHost.onReady(tryNow);
          tryNow();
        }),
      nextRefresh: (timeoutMs = 30_000) =>
        new Promise<void>((resolve, reject) => {
          const w = () => {
            clearTimeout(timer);
            refreshWaiters.delete(w);
            resolve();
          };
          const timer = setTimeout(() => {
            refreshWaiters.delete(w);
            reject(new Error(`no refresh within ${timeoutMs} ms`));
          }, timeoutMs);
          refreshWaiters.add(w);
        }),
    };
  }
}

export async function deactivate(): Promise<void> {
  const h = host;
  host = undefined;
  await h?.stop();
}

function stateMessage(s: NodeHostState, started = true): string | undefined {
  switch (s.kind) {
    case "running":
      return undefined;
    case "starting":
      return "The peershare node is starting…";
    case "restarting":
      return `The peershare node stopped (${s.reason}); restarting in ${formatMs(s.delayMs)}.`;
    case "failed":
      return `The peershare node has stopped: ${s.reason}. Run "peershare: Restart Node" to try again.`;
    case "stopped":
      return started ? "The peershare node is stopped." : "The peershare node has not started yet: it starts when a peershare view shows or a peershare command runs.";
  }
}
