// Runs a node as a long-lived process: the node itself, its local control socket for the CLI,
// optionally a JSON-RPC session over stdio (for the VS Code extension), and a graceful stop on
// SIGINT/SIGTERM (Windows: SIGINT, SIGBREAK, SIGHUP; platform/signals.ts) or on request.

import { PeershareNode, NodeOptions } from "./node";
import { createApi } from "./rpc/api";
import { startSession } from "./rpc/session";
import { listenLocal, removeLocalState } from "./rpc/local-socket";
import { shutdownSignals } from "./platform/signals";
import { watchHeapAfterGc } from "./platform/heap-after-gc";

export interface DaemonOptions extends NodeOptions {
  /** Also speak JSON-RPC on stdin/stdout (the extension's channel); stdin closing stops the node. */
  stdio?: boolean;
}

export interface Daemon {
  node: PeershareNode;
  /** Resolves once the node has stopped (on request, a signal, or stop()). */
  stopped: Promise<void>;
  /** Stops the node gracefully and removes the control socket. */
  stop(why: string): Promise<void>;
}

export async function runDaemon(opts: DaemonOptions): Promise<Daemon> {
  watchHeapAfterGc(); // node.info's heap figure without uncollected garbage
  const node = await PeershareNode.start(opts);
  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  const api = createApi(node, () => void shutdown("stop requested"));
  let server: Awaited<ReturnType<typeof listenLocal>> | undefined;
  try {
    server = await listenLocal(opts.dataDir, { id: node.identity.id.toString("hex"), host: node.transport.local.host, port: node.transport.local.port }, (socket, token) =>
      startSession(node, api, socket, socket, token),
    );
  } catch (err) {
    await node.stop();
    throw err;
  }

  let shuttingDown = false;
  const shutdown = async (why: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    node.log(`stopping (${why}); telling neighbours`);
    await node.stop();
    if (server) removeLocalState(opts.dataDir, server);
    resolveStopped();
  };
  for (const signal of shutdownSignals()) process.once(signal, () => void shutdown(signal));
  if (opts.stdio) {
    startSession(node, api, process.stdin, process.stdout);
    process.stdin.once("end", () => void shutdown("stdin closed"));
  }
  return { node, stopped, stop: async (why) => (await shutdown(why), stopped) };
}
