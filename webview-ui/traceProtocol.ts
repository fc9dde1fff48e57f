// Messages between the extension and the lookup trace panel's webview (trace.ts). Both sides import
// this module, so a change to the protocol is checked by the compiler on both ends.
import type { LookupResult, RoutingInfo } from "../node-host/rpc/api-types";

/** Extension → webview. */
export type ToTrace =
  | { type: "trace"; result: LookupResult; routing?: RoutingInfo; at: number }
  | { type: "routing"; routing: RoutingInfo }
  | { type: "busy"; busy: boolean };

/** Webview → extension. */
export type FromTrace = { type: "ready" } | { type: "copy"; value: string } | { type: "lookupAgain"; key: string };

/** What the panel keeps across hide/show and reloads (vscode.setState). */
export interface TraceState {
  result?: LookupResult;
  routing?: RoutingInfo;
  /** When the lookup ran (ms since the epoch). */
  at?: number;
  busy?: boolean;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Validates a message received from the webview (it is untrusted input): only IDs and keys travel. */
export function isFromTrace(m: unknown): m is FromTrace {
  if (!m || typeof m !== "object") return false;
  const msg = m as Record<string, unknown>;
  switch (msg.type) {
    case "ready":
      return true;
    case "copy":
      return typeof msg.value === "string" && HEX64.test(msg.value);
    case "lookupAgain":
      return typeof msg.key === "string" && HEX64.test(msg.key);
    default:
      return false;
  }
}

/** Validates a message received from the extension. */
export function isToTrace(m: unknown): m is ToTrace {
  if (!m || typeof m !== "object") return false;
  const msg = m as Record<string, unknown>;
  switch (msg.type) {
    case "trace":
      return !!msg.result && typeof msg.result === "object" && Array.isArray((msg.result as LookupResult).queried) && typeof msg.at === "number";
    case "routing":
      return !!msg.routing && typeof msg.routing === "object" && Array.isArray((msg.routing as RoutingInfo).buckets);
    case "busy":
      return typeof msg.busy === "boolean";
    default:
      return false;
  }
}

/** Applies a message to the panel state. Pure. */
export function reduceTrace(state: TraceState, msg: ToTrace): TraceState {
  switch (msg.type) {
    case "trace":
      return { result: msg.result, routing: msg.routing ?? state.routing, at: msg.at, busy: false };
    case "routing":
      return { ...state, routing: msg.routing };
    case "busy":
      return { ...state, busy: msg.busy };
  }
}
