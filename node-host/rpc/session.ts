// One JSON-RPC conversation with a client (the CLI over the local socket, or the VS Code extension
// over stdio): requests go to the API handlers, node events go out as notifications.
// When a token is required, the first request must be `auth` with that token.

import { timingSafeEqual } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { JSONRPCClient, JSONRPCErrorException, JSONRPCServer, JSONRPCServerAndClient } from "json-rpc-2.0";
import { ApiHandlers } from "./api";
import { RpcErrors } from "./api-types";
import { openLineStream } from "./line-stream";
import { RpcTimeoutError } from "../dht/transport";
import { PeershareNode } from "../node";
import { CasError } from "../cas";
import { FetchRefusedError } from "../transfer/fetcher";
import { ShareNeedsConfirmationError } from "../transfer/publish-check";

const NOTIFICATIONS = ["peers.changed", "transfer.progress"] as const;

function toRpcError(err: unknown): { code: number; message: string; data?: unknown } {
  if (err instanceof ShareNeedsConfirmationError) return { code: RpcErrors.NeedsConfirmation, message: err.message, data: { warnings: err.warnings } };
  if (err instanceof JSONRPCErrorException) return { code: err.code, message: err.message };
  if (err instanceof CasError && err.code === "EBADLINK") return { code: RpcErrors.InvalidArgument, message: err.message };
  if (err instanceof CasError && err.code === "ENOTFOUND") return { code: RpcErrors.NotFound, message: err.message };
  if (err instanceof FetchRefusedError) return { code: RpcErrors.Forbidden, message: err.message };
  if (err instanceof RpcTimeoutError) return { code: RpcErrors.Timeout, message: err.message };
  return { code: RpcErrors.Failed, message: err instanceof Error ? err.message : String(err) };
}

export function startSession(node: PeershareNode, api: ApiHandlers, input: Readable, output: Writable, token?: string): void {
  const server = new JSONRPCServer();
  server.mapErrorToJSONRPCErrorResponse = (id, error) => ({ jsonrpc: "2.0", id, error: toRpcError(error) });
  for (const [name, handler] of Object.entries(api)) server.addMethod(name, handler as (params: unknown) => unknown);

  let authenticated = token === undefined;
  const peer = new JSONRPCServerAndClient(
    server,
    new JSONRPCClient((request) => lines.send(request)),
  );
  const listeners = NOTIFICATIONS.map((event) => {
    const listener = (payload: unknown) => {
      if (authenticated) peer.notify(event, payload as Record<string, unknown>, undefined);
    };
    node.on(event, listener);
    return () => node.off(event, listener);
  });

  const lines = openLineStream(
    input,
    output,
    (message) => {
      if (authenticated) {
        void peer.receiveAndSend(message, undefined, undefined).then(undefined, () => undefined);
        return;
      }
      const m = message as { id?: unknown; method?: unknown; params?: { token?: unknown } };
      const given = typeof m.params?.token === "string" ? Buffer.from(m.params.token) : Buffer.alloc(0);
      const expected = Buffer.from(token ?? "");
      if (m.method === "auth" && given.length === expected.length && timingSafeEqual(given, expected)) {
        authenticated = true;
        lines.send({ jsonrpc: "2.0", id: m.id ?? null, result: { ok: true } });
      } else {
        lines.send({ jsonrpc: "2.0", id: m.id ?? null, error: { code: RpcErrors.Unauthorized, message: "not authorized: wrong or missing token" } });
        lines.close();
        output.end();
      }
    },
    () => {
      listeners.forEach((off) => off());
      peer.rejectAllPendingRequests("connection closed");
    },
  );
}
