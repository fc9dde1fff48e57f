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

const INVALID_REQUEST = -32600;

/** The id to answer a message with: its own when it is a valid JSON-RPC id, else null. */
function replyId(message: unknown): string | number | null {
  const id = message !== null && typeof message === "object" && !Array.isArray(message) ? (message as { id?: unknown }).id : null;
  return typeof id === "string" || (typeof id === "number" && Number.isFinite(id)) ? id : null;
}

/**
 * Why `message` is not a JSON-RPC 2.0 request, response or non-empty batch of requests, or null when
 * it is one. Checked before the library sees it: the library drops such messages without an answer
 * (the client would wait forever), and echoes ids of any shape (a deeply nested one cannot even be
 * serialised back).
 */
function invalidMessage(message: unknown, inBatch = false): string | null {
  if (Array.isArray(message)) {
    if (inBatch) return "a batch cannot hold a batch";
    if (message.length === 0) return "an empty batch";
    for (const m of message) {
      const why = invalidMessage(m, true);
      if (why) return `in a batch, ${why}`;
    }
    return null;
  }
  if (message === null || typeof message !== "object") return "not an object";
  const m = message as { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };
  if (m.jsonrpc !== "2.0") return '"jsonrpc" must be "2.0"';
  if ("id" in m && m.id !== null && typeof m.id !== "string" && !(typeof m.id === "number" && Number.isFinite(m.id))) return "an id must be a string, a number or null";
  if (m.result !== undefined || m.error !== undefined) return inBatch ? "a response" : m.id === undefined ? "a response without an id" : null;
  if (typeof m.method !== "string") return '"method" must be a string';
  if (m.params !== undefined && m.params !== null && typeof m.params !== "object") return '"params" must be an object or an array';
  return null;
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
      const invalid = invalidMessage(message);
      if (authenticated) {
        if (invalid) lines.send({ jsonrpc: "2.0", id: replyId(message), error: { code: INVALID_REQUEST, message: `invalid request: ${invalid}` } });
        else void peer.receiveAndSend(message, undefined, undefined).then(undefined, () => undefined);
        return;
      }
      // before auth anything may arrive (null, arrays, ids that cannot be echoed): read it defensively
      const m = (invalid ? {} : message) as { method?: unknown; params?: { token?: unknown } | null };
      const given = typeof m.params?.token === "string" ? Buffer.from(m.params.token) : Buffer.alloc(0);
      const expected = Buffer.from(token ?? "");
      if (m.method === "auth" && given.length === expected.length && timingSafeEqual(given, expected)) {
        authenticated = true;
        lines.send({ jsonrpc: "2.0", id: replyId(message), result: { ok: true } });
      } else {
        lines.send({ jsonrpc: "2.0", id: replyId(message), error: { code: RpcErrors.Unauthorized, message: "not authorized: wrong or missing token" } });
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
