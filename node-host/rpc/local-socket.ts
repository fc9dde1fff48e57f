// The local control channel of a running node: a Unix socket, or on Windows a named pipe
// (control-endpoint.ts), recorded in the data dir and authenticated by a token that only the data
// dir's owner can read (rpc.token: mode 0600; on Windows the data dir's access list,
// platform/owner-only.ts). `peershare <verb> --data-dir DIR` finds the node this way.

import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { JSONRPCClient } from "json-rpc-2.0";
import { Api, ApiMethod } from "./api-types";
import { openLineStream } from "./line-stream";
import { writeFileAtomic } from "../util/fs-atomic";
import { connectEndpoint, listenEndpoint } from "./control-endpoint";

const TOKEN_FILE = "rpc.token";
const STATE_FILE = "node.json";

export interface NodeStateFile {
  pid: number;
  /** The control channel: a Unix socket path, or on Windows a named pipe (\\.\pipe\…). */
  socket: string;
  id: string;
  host: string;
  port: number;
}

export class NoNodeRunningError extends Error {
  constructor(dataDir: string) {
    super(`no peershare node is running for ${dataDir}; start one with: peershare start --data-dir ${dataDir}`);
    this.name = "NoNodeRunningError";
  }
}

function canConnect(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** Opens the control channel; refuses if another node already serves this data dir. */
export async function listenLocal(dataDir: string, state: Omit<NodeStateFile, "socket" | "pid">, onConnection: (socket: net.Socket, token: string) => void): Promise<net.Server> {
  const endpoint = listenEndpoint(dataDir);
  const running = new Error(`a peershare node is already running for ${dataDir}`);
  if (await canConnect(endpoint.path)) throw running;
  // A Unix socket outlives a node that was killed (a named pipe goes with its last handle).
  if (endpoint.kind === "unix-socket") fs.rmSync(endpoint.path, { force: true });
  const token = randomBytes(32).toString("hex");
  const server = net.createServer((socket) => onConnection(socket, token));
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => reject(err.code === "EADDRINUSE" ? running : err));
    server.listen(endpoint.path, () => {
      server.removeAllListeners("error");
      resolve();
    });
  });
  if (endpoint.kind === "unix-socket") fs.chmodSync(endpoint.path, 0o600);
  // only once the channel is this node's: a second node that lost the race leaves the first one's token alone
  writeFileAtomic(path.join(dataDir, TOKEN_FILE), token, 0o600);
  const file: NodeStateFile = { ...state, pid: process.pid, socket: endpoint.path };
  writeFileAtomic(path.join(dataDir, STATE_FILE), JSON.stringify(file, null, 2) + "\n");
  return server;
}

export function removeLocalState(dataDir: string, server: net.Server): void {
  server.close();
  for (const f of [STATE_FILE, TOKEN_FILE]) fs.rmSync(path.join(dataDir, f), { force: true });
  const endpoint = listenEndpoint(dataDir);
  if (endpoint.kind === "unix-socket") fs.rmSync(endpoint.path, { force: true });
}

/** The endpoint the running node recorded in node.json, if it is readable. */
function recordedEndpoint(dataDir: string): unknown {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dataDir, STATE_FILE), "utf8")) as Partial<NodeStateFile>).socket;
  } catch {
    return undefined;
  }
}

/** How long a connecting client waits for the node to accept its token. */
const AUTH_TIMEOUT_MS = 15_000;

export interface LocalClient {
  call<M extends ApiMethod>(method: M, params: Api[M][0], timeoutMs?: number): Promise<Api[M][1]>;
  onNotification(handler: (method: string, params: unknown) => void): void;
  close(): void;
}

/** Connects to the node running for `dataDir` and authenticates. */
export async function connectLocal(dataDir: string): Promise<LocalClient> {
  let token: string;
  try {
    token = fs.readFileSync(path.join(dataDir, TOKEN_FILE), "utf8").trim();
  } catch {
    throw new NoNodeRunningError(dataDir);
  }
  const endpoint = connectEndpoint(dataDir, recordedEndpoint(dataDir));
  if (!endpoint) throw new NoNodeRunningError(dataDir);
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(endpoint);
    s.once("connect", () => resolve(s));
    s.once("error", () => reject(new NoNodeRunningError(dataDir)));
  });
  let notify: (method: string, params: unknown) => void = () => undefined;
  const client = new JSONRPCClient((request) => lines.send(request));
  const lines = openLineStream(
    socket,
    socket,
    (message) => {
      const m = message as { id?: unknown; method?: string; params?: unknown };
      if (m.method && m.id === undefined) notify(m.method, m.params);
      else client.receive(message as Parameters<typeof client.receive>[0]);
    },
    () => client.rejectAllPendingRequests("the node closed the connection"),
  );
  let closed = false;
  socket.on("close", () => {
    closed = true;
    client.rejectAllPendingRequests("the node closed the connection");
  });
  try {
    await client.timeout(AUTH_TIMEOUT_MS).request("auth", { token });
  } catch (err) {
    // a node that accepts the connection but does not answer (starting, stopping, or stuck) must not hang the caller
    socket.destroy();
    throw new Error(`the peershare node for ${dataDir} did not answer (${(err as Error).message}); it may be starting or stopping: try again`);
  }
  return {
    // a call on a closed connection fails at once instead of waiting out its timeout
    call: (method, params, timeoutMs = 120_000) => (closed ? Promise.reject(new Error("the node closed the connection")) : Promise.resolve(client.timeout(timeoutMs).request(method, params))),
    onNotification: (handler) => {
      notify = handler;
    },
    close: () => {
      lines.close();
      socket.destroy();
    },
  };
}
