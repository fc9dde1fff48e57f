// Runs this window's node: builds the node-host process (its script, runtime, data dir and key
// passphrase) and starts it on first use. The node starts when a peershare view shows, a command
// runs, a `peershare:` file opens or a link is followed (or at once with
// peershare.startNodeOnStartup), so a window that never uses peershare runs no node.
import * as vscode from "vscode";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { formatMs } from "./format";
import { errorText, NodeHost, type NodeHostState } from "./nodeHost";
import { serveArgs } from "./settings";
import type { WorkspaceSettings } from "./workspaceSettings";
import { withMallocSettings } from "../node-host/platform/malloc-env";

export class NodeLauncher {
  private requested = false;

  private constructor(
    /** The node-host process and its JSON-RPC API. */
    readonly host: NodeHost,
    private readonly script: string,
    /** The node-host script was not there at activation: every start fails, and says why once. */
    private readonly scriptMissing: boolean,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Prepares the node of this window (its data dir under `storage`); starts nothing yet. */
  static async create(context: vscode.ExtensionContext, storage: vscode.Uri, settings: WorkspaceSettings, log: vscode.LogOutputChannel): Promise<NodeLauncher> {
    const dataDir = path.join(storage.fsPath, "node");
    fs.mkdirSync(dataDir, { recursive: true });
    const script = process.env.PEERSHARE_NODE_HOST_SCRIPT || path.join(context.extensionPath, "out", "node-host.js");
    const nodePath = settings.current.nodePath;
    const host = new NodeHost({
      command: nodePath || process.execPath,
      args: () => serveArgs(script, dataDir, settings.current),
      env: await nodeEnv(context.secrets, dataDir, !nodePath, log),
      cwd: dataDir,
      logger: log,
    });
    return new NodeLauncher(host, script, !fs.existsSync(script), log);
  }

  /** Whether this window has started its node (it may be restarting or have failed since). */
  get started(): boolean {
    return this.requested;
  }

  /** Starts the node unless it was started already. */
  start(why: string): Promise<void> {
    const host = this.host;
    if (this.requested) return host.isRunning ? Promise.resolve() : host.state.kind === "starting" ? host.start() : Promise.resolve();
    this.requested = true;
    if (this.scriptMissing) {
      const msg = `the node-host is missing from this installation (${this.script}); reinstall the extension or run "npm run build:ext"`;
      this.log.error(msg);
      void vscode.window.showErrorMessage(`peershare: ${msg}`);
      return Promise.reject(new Error(msg));
    }
    this.log.info(`starting the node (${why})`);
    const started = host.start();
    started.catch((err) => this.log.error(`the node did not start: ${errorText(err)}`));
    return started;
  }

  /** Starts the node for a use that does not wait for it (a view or panel shown); failures are logged. */
  use(why: string): void {
    void this.start(why).catch(() => undefined);
  }

  /** True once the node runs, starting it first if this window has not started it yet. */
  async ensure(why: string): Promise<boolean> {
    const host = this.host;
    if (host.isRunning) return true;
    const kind = host.state.kind;
    if (kind === "stopped" || kind === "starting") {
      await vscode.window
        .withProgress({ location: vscode.ProgressLocation.Window, title: "peershare: starting the node" }, () => this.start(why))
        .then(undefined, () => undefined);
    }
    return host.isRunning;
  }

  /** For a command: true once the node runs (started first on the window's first use); otherwise tells the user. */
  async require(): Promise<boolean> {
    if (await this.ensure("a command")) return true;
    if (this.scriptMissing) return false; // said already
    void vscode.window.showWarningMessage(`peershare: ${stateMessage(this.host.state) ?? "the node is not running"}`, "Restart Node").then((c) => {
      if (c) void vscode.commands.executeCommand("peershare.restartNode");
    });
    return false;
  }

  /** What the views say instead of their rows while the node does not run (undefined: it runs). */
  notRunningMessage(): string | undefined {
    return stateMessage(this.host.state, this.requested);
  }

  /** At activation: starts the node with the window when peershare.startNodeOnStartup is set or a peershare view already shows. */
  startAtActivation(shownView: vscode.TreeView<unknown> | undefined): void {
    const eager = vscode.workspace.getConfiguration("peershare").get<boolean>("startNodeOnStartup", false);
    if (eager || shownView) this.use(eager ? "peershare.startNodeOnStartup is set" : `the ${shownView?.title ?? "peershare"} view is shown`);
    else this.log.info("the node starts on first use (a peershare view, command, shared file or link)");
  }
}

/** A sentence on the node's state for a view or a warning; undefined while it runs. */
export function stateMessage(s: NodeHostState, started = true): string | undefined {
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

/**
 * The node-host's environment: the extension host's, with the C library's memory settings for a
 * long-running node (platform/malloc-env.ts), the key passphrase and, where needed, Electron run as Node.
 */
async function nodeEnv(secrets: vscode.SecretStorage, dataDir: string, useOwnRuntime: boolean, log: vscode.LogOutputChannel): Promise<NodeJS.ProcessEnv> {
  const env = withMallocSettings(process.env);
  // Inside the Electron desktop build, its executable runs as plain Node with this variable.
  if (useOwnRuntime && process.versions.electron) env.ELECTRON_RUN_AS_NODE = "1";
  // The node keeps its keys in a passphrase-protected file in its data dir, under a random
  // passphrase that lives in VS Code's secret storage; the child gets it in its environment.
  delete env.PEERSHARE_PASSPHRASE_FILE;
  try {
    env.PEERSHARE_PASSPHRASE = await nodeKeyPassphrase(secrets, dataDir, log);
  } catch (err) {
    // the node then says itself that it has nowhere to keep its keys
    delete env.PEERSHARE_PASSPHRASE;
    log.error(`VS Code's secret storage did not give the node's key passphrase: ${errorText(err)}`);
  }
  return env;
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
