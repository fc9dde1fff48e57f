// Malformed JSON-RPC for the node's local control socket (rpc/local-socket.ts, rpc/session.ts), and a
// raw line client to send it: nothing here goes through a JSON-RPC library, so anything can be sent.

import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { Prng } from "./prng";

/** What a case must get back: an error response (with a code from `codes` when given), a result, no reply at all, or a closed connection. */
export type Expect = { kind: "error"; codes?: number[] } | { kind: "result" } | { kind: "batch"; length: number } | { kind: "noReply" } | { kind: "errorOrClose" };

export interface RpcCase {
  name: string;
  /** Bytes written as they are (a trailing newline is not added). */
  payload: Buffer;
  /** The id the reply carries (null for parse errors and invalid requests). */
  id: unknown;
  expect: Expect;
  /** Written in two parts with a pause between (a request cut across reads). */
  split?: boolean;
}

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;

const line = (v: unknown) => Buffer.from(JSON.stringify(v) + "\n");
const raw = (s: string) => Buffer.from(s + "\n", "latin1");
const req = (id: unknown, method: unknown, params?: unknown) => ({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) });

/** Nested arrays `depth` deep, as text (JSON.stringify of such a value would overflow the stack). */
export function deepArrayText(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

/** Cases for an authenticated connection; none of them may change the node's state. */
export function authenticatedCases(rng: Prng): RpcCase[] {
  const cases: RpcCase[] = [];
  let n = 0;
  const add = (name: string, payload: Buffer, id: unknown, expect: Expect, split = false) => cases.push({ name, payload, id, expect, split });
  const err = (...codes: number[]): Expect => ({ kind: "error", codes: codes.length ? codes : undefined });
  const call = (name: string, method: unknown, params: unknown, expect: Expect = err()) => {
    const id = `c${n++}`;
    add(name, line(req(id, method, params)), id, expect);
  };

  // not JSON at all
  for (const text of ["{", "not json", '{"jsonrpc":"2.0",', "[", "nul", "{'a':1}", '{"a":1}}', "\u0000\u0001\u0002", "\ufeff{}", "1e", "--1"]) add(`parse: ${JSON.stringify(text)}`, raw(text), null, err(PARSE_ERROR));
  add("parse: invalid UTF-8", Buffer.from([0xff, 0xfe, 0x7b, 0xc3, 0x28, 0x0a]), null, err(PARSE_ERROR));
  add("parse: random bytes", Buffer.concat([rng.bytes(200).map((b) => (b === 10 ? 32 : b)), Buffer.from("\n")]), null, err(PARSE_ERROR));

  // JSON, but not a request
  for (const text of ["null", "1", '"text"', "true", "[]", "[1,2]", "[null]", "{}", "1e99999", "[[]]"]) add(`not a request: ${text}`, raw(text), null, err(INVALID_REQUEST));
  add("wrong version 1.0", line({ jsonrpc: "1.0", id: "v1", method: "node.info" }), "v1", err(INVALID_REQUEST));
  add("wrong version as a number", line({ jsonrpc: 2.0, id: "v2", method: "node.info" }), "v2", err(INVALID_REQUEST));
  add("no version", line({ id: "v3", method: "node.info" }), "v3", err(INVALID_REQUEST));
  add("no method", line({ jsonrpc: "2.0", id: "v4" }), "v4", err(INVALID_REQUEST));
  for (const [i, method] of [5, null, {}, [], true].entries()) add(`method ${JSON.stringify(method)}`, line(req(`m${i}`, method)), `m${i}`, err(INVALID_REQUEST));

  // ids that are not ids: answered with id null (an id is a string, a number or null)
  add("id {}", line(req({}, "node.info")), null, err(INVALID_REQUEST));
  add("id []", line(req([1, 2], "node.info")), null, err(INVALID_REQUEST));
  add("id true", line(req(true, "node.info")), null, err(INVALID_REQUEST));
  add("id nested 100,000 deep", raw(`{"jsonrpc":"2.0","method":"node.info","id":${deepArrayText(100_000)}}`), null, err(INVALID_REQUEST));
  add("id a 1 MB string", line(req("i".repeat(1 << 20), "node.info")), "i".repeat(1 << 20), { kind: "result" });
  add("id 1.5", line(req(1.5, "node.info")), 1.5, { kind: "result" });

  // unknown methods
  for (const method of ["nope", "__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "", "node.info ", "NODE.INFO", "node", "dht.", rng.bytes(40).toString("base64")]) {
    call(`unknown method ${JSON.stringify(method)}`, method, {}, err(METHOD_NOT_FOUND));
  }

  // wrong parameter types and values (no call here may change the node's state when refused)
  const badParams: [string, unknown][] = [
    ["dht.closest", { key: 5 }],
    ["dht.closest", { key: "" }],
    ["dht.closest", { key: "x", n: "5" }],
    ["dht.closest", { key: "x", n: -1 }],
    ["dht.closest", { key: "x", n: 1.5 }],
    ["dht.closest", { key: "x", n: 1e9 }],
    ["dht.closest", null],
    ["dht.closest", []],
    ["dht.closest", "key"],
    ["dht.closest", 5],
    ["dht.lookup", { key: ["a"] }],
    ["dht.get", { key: {} }],
    ["dht.put", { name: {}, value: [] }],
    ["dht.put", { name: "a".repeat(1000), value: "x" }],
    ["dht.put", { name: "n", value: "v".repeat(10_000) }],
    ["config.get", { key: "__proto__" }],
    ["config.get", { key: "constructor" }],
    ["config.get", { key: 5 }],
    ["config.set", { key: "k", value: {} }],
    ["config.set", { key: "__proto__", value: 1 }],
    ["config.set", { key: "alpha", value: "NaN" }],
    ["config.set", { key: "alpha", value: -1 }],
    ["config.set", { key: "port", value: 1e12 }],
    ["config.set", { key: "bootstrap", value: ["nowhere"] }],
    ["content.fetch", { link: 123 }],
    ["content.fetch", { link: "peershare://zz" }],
    ["content.fetch", { link: "a".repeat(64), transferId: "../../x" }],
    ["content.fetch", { link: "a".repeat(64), out: 5 }],
    ["content.fetch", { link: `peershare://${"b".repeat(64)}#k=${"A".repeat(5000)}` }],
    ["content.share", { path: 5 }],
    ["content.share", { path: "/nonexistent/peershare-fuzz/x" }],
    ["content.status", { link: "x" }],
    ["content.info", { link: "::" }],
    ["transfer.pause", { id: "nope" }],
    ["transfer.cancel", { id: {} }],
    ["transfer.resume", { id: "../x" }],
    ["team.join", { invite: "garbage" }],
    ["team.join", { invite: rng.bytes(3000).toString("base64url") }],
    ["team.join", { invite: 5 }],
    ["team.members", { team: 5 }],
    ["team.revoke", { nodeId: "zz" }],
    ["audit.list", { content: 5 }],
  ];
  for (const [method, params] of badParams) call(`${method} ${JSON.stringify(params).slice(0, 60)}`, method, params);

  // big and deep parameters
  add("params nested 100,000 deep", raw(`{"jsonrpc":"2.0","id":"deep","method":"dht.closest","params":${deepArrayText(100_000)}}`), "deep", err());
  call("params with 100,000 keys", "dht.closest", Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i])));
  call("a 4 MiB key (hashed to a DHT key)", "dht.closest", { key: "k".repeat(4 << 20) }, { kind: "result" });

  // batches and notifications
  add("batch of two", line([req("b1", "node.info"), req("b2", "dht.closest", { key: 7 })]), "batch", { kind: "batch", length: 2 });
  add("batch of 1000", line(Array.from({ length: 1000 }, (_, i) => req(`bb${i}`, "config.get", {}))), "batch", { kind: "batch", length: 1000 });
  add("batch with a non-request", line([req("b3", "node.info"), 5]), null, err(INVALID_REQUEST));
  add("batch of notifications only", line([{ jsonrpc: "2.0", method: "node.info" }]), undefined, { kind: "noReply" });
  add("notification of an unknown method", line({ jsonrpc: "2.0", method: "nope" }), undefined, { kind: "noReply" });
  add("a stray response", line({ jsonrpc: "2.0", id: 424242, result: 1 }), undefined, { kind: "noReply" });
  add("an empty line", raw(""), undefined, { kind: "noReply" });

  // framing
  add("request cut across two writes", line(req("split", "node.info")), "split", { kind: "result" }, true);
  add("CRLF line ending", Buffer.from(JSON.stringify(req("crlf", "node.info")) + "\r\n"), "crlf", { kind: "result" });
  add("a notification and a request in one write", Buffer.concat([line({ jsonrpc: "2.0", method: "node.info" }), line(req("two", "node.info"))]), "two", { kind: "result" });
  return cases;
}

/** A line longer than any limit (the session must refuse it, and may close). */
export function overLimitLine(bytes: number): Buffer {
  return Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":"huge","method":"dht.closest","params":{"key":"'), Buffer.alloc(bytes, 0x61), Buffer.from('"}}\n')]);
}

/** First messages on a connection without the token: each must be refused (and the connection closed). */
export function unauthenticatedCases(token: string, rng: Prng): { name: string; payload: Buffer; closes: boolean }[] {
  return [
    { name: "a request before auth", payload: line(req(1, "node.info")), closes: true },
    { name: "wrong token", payload: line(req(1, "auth", { token: "0".repeat(token.length) })), closes: true },
    { name: "token off by one character", payload: line(req(1, "auth", { token: token.slice(0, -1) + (token.endsWith("0") ? "1" : "0") })), closes: true },
    { name: "token prefix", payload: line(req(1, "auth", { token: token.slice(0, 10) })), closes: true },
    { name: "token as a number", payload: line(req(1, "auth", { token: 5 })), closes: true },
    { name: "token as an array", payload: line(req(1, "auth", { token: [token] })), closes: true },
    { name: "empty token", payload: line(req(1, "auth", { token: "" })), closes: true },
    { name: "a 1 MB token", payload: line(req(1, "auth", { token: "t".repeat(1 << 20) })), closes: true },
    { name: "auth without params", payload: line(req(1, "auth")), closes: true },
    { name: "auth with params null", payload: line(req(1, "auth", null)), closes: true },
    { name: "auth in a batch", payload: line([req(1, "auth", { token })]), closes: true },
    { name: "null", payload: raw("null"), closes: true },
    { name: "a number", payload: raw("7"), closes: true },
    { name: "a string", payload: raw('"auth"'), closes: true },
    { name: "an id nested 100,000 deep", payload: raw(`{"jsonrpc":"2.0","method":"auth","params":{"token":"x"},"id":${deepArrayText(100_000)}}`), closes: true },
    { name: "an id that is an object", payload: line(req({ a: 1 }, "auth", { token: "x" })), closes: true },
    { name: "not JSON", payload: Buffer.concat([rng.bytes(100).map((b) => (b === 10 ? 32 : b)), Buffer.from("\n")]), closes: false },
  ];
}

/** A raw newline-delimited JSON client of the node's local socket. */
export class RawRpc {
  private buffer = "";
  private readonly queue: unknown[] = [];
  private waiter: (() => void) | null = null;
  closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      for (let i = this.buffer.indexOf("\n"); i >= 0; i = this.buffer.indexOf("\n")) {
        const text = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + 1);
        let m: unknown;
        try {
          m = JSON.parse(text);
        } catch {
          m = { unparseable: text.slice(0, 200) };
        }
        // notifications (peers.changed, transfer.progress) are not answers to anything
        if (m && typeof m === "object" && "method" in m && !("id" in m)) continue;
        this.queue.push(m);
      }
      this.wake();
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  static connect(dataDir: string): Promise<RawRpc> {
    const state = JSON.parse(fs.readFileSync(path.join(dataDir, "node.json"), "utf8")) as { socket: string };
    return new Promise((resolve, reject) => {
      const s = net.connect(state.socket);
      s.once("connect", () => resolve(new RawRpc(s)));
      s.once("error", reject);
    });
  }

  static async authenticated(dataDir: string): Promise<RawRpc> {
    const c = await RawRpc.connect(dataDir);
    const token = fs.readFileSync(path.join(dataDir, "rpc.token"), "utf8").trim();
    c.write(line(req("auth", "auth", { token })));
    const m = (await c.next(5000)) as { result?: { ok?: boolean } } | string;
    if (typeof m === "string" || !m.result?.ok) throw new Error(`auth failed: ${JSON.stringify(m)}`);
    return c;
  }

  write(b: Buffer): boolean {
    return this.socket.write(b);
  }

  /** The next message, or "closed" / "timeout". */
  async next(timeoutMs: number): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (this.closed) return "closed";
      const left = deadline - Date.now();
      if (left <= 0) return "timeout";
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.queue.shift();
  }

  close(): void {
    this.socket.destroy();
  }
}
