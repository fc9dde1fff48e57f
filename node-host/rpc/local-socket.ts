// The local control channel of a running node: a Unix socket whose path is recorded in the data
// dir, authenticated by a token that only the data dir's owner can read (rpc.token, mode 0600).
// `peershare <verb> --data-dir DIR` finds the node this way.

import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { JSONRPCClient } from "json-rpc-2.0";
import { Api, ApiMethod } from "./api-types";
import { openLineStream } from "./line-stream";
import { writeFileAtomic } from "../util/fs-atomic";

const TOKEN_FILE = "rpc.token";
const STATE_FILE = "node.json";
// Unix socket paths are limited to ~107 bytes; deep data dirs use a hashed name in the temp dir.
const MAX_SOCKET_PATH = 100;

export interface NodeStateFile {
  pid: number;
  socket: string;
  id: string;
  host: string;
  port: number;
}

export function socketPathFor(dataDir: string): string {
  const inDir = path.join(path.resolve(dataDir), "rpc.sock");
  if (inDir.length <= MAX_SOCKET_PATH) return inDir;
  const digest = createHash("sha256").update(path.resolve(dataDir)).digest("hex").slice(0, 16);
  return path.join(os.tmpdir(), `peershare-${digest}.sock`);
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

/** Opens the control socket; refuses if another node already serves this data dir. */
export async function listenLocal(dataDir: string, state: Omit<NodeStateFile, "socket" | "pid">, onConnection: (socket: net.Socket, token: string) => void): Promise<net.Server> {
  const socketPath = socketPathFor(dataDir);
  if (fs.existsSync(socketPath)) {
    if (await canConnect(socketPath)) throw new Error(`a peershare node is already running for ${dataDir}`);
    fs.rmSync(socketPath, { force: true }); // left behind by a node that was killed
  }
  const token = randomBytes(32).toString("hex");
  writeFileAtomic(path.join(dataDir, TOKEN_FILE), token, 0o600);
  const server = net.createServer((socket) => onConnection(socket, token));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      server.off("error", reject);
      resolve();
    });
  });
  fs.chmodSync(socketPath, 0o600);
  const file: NodeStateFile = { ...state, pid: process.pid, socket: socketPath };
  writeFileAtomic(path.join(dataDir, STATE_FILE), JSON.stringify(file, null, 2) + "\n");
  return server;
}

export function removeLocalState(dataDir: string, server: net.Server): void {
  server.close();
  for (const f of [STATE_FILE, TOKEN_FILE]) fs.rmSync(path.join(dataDir, f), { force: true });
  fs.rmSync(socketPathFor(dataDir), { force: true });
}

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
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(socketPathFor(dataDir));
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
  socket.on("close", () => client.rejectAllPendingRequests("the node closed the connection"));
  await client.request("auth", { token });
  return {
    call: (method, params, timeoutMs = 120_000) => Promise.resolve(client.timeout(timeoutMs).request(method, params)),
    onNotification: (handler) => {
      notify = handler;
    },
    close: () => {
      lines.close();
      socket.destroy();
    },
  };
}
