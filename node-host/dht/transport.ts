// What the DHT core needs from a network: send a request to an address and get the reply, and be
// handed the requests others send. Real UDP (transport/udp-rpc.ts) and an in-memory network
// (transport/memory.ts) both provide it, so the same DHT code runs in the product and in simulations.

import { Id } from "./id";
import { Contact, Request, Response } from "./messages";

/** Where to send a request. `id`, when given, is the node that must answer (replies from others are ignored). */
export interface Address {
  host: string;
  port: number;
  id?: Id;
  /** The node's public key, when known (lets the transport authenticate with a pair key). */
  publicKey?: Buffer;
  /** Rendezvous nodes that pass requests on to a node behind NAT (nat/), tried in order instead of its own address. */
  via?: Address[];
}

/** An address whose node is known: its ID and key (a verified contact, a LAN announcement). */
export type KnownAddress = Address & { id: Id; publicKey: Buffer };

export interface Reply {
  from: Contact;
  response: Response;
  rttMs: number;
  /** The answering node is a DHT client (see RpcTransport.setClientMode). */
  client: boolean;
}

/** What a request says about its sender beyond its contact. */
export interface SenderInfo {
  /** The sender is a DHT client: it asks but is not to be asked, so it stays out of routing tables. */
  client: boolean;
}

export interface RequestOptions {
  timeoutMs?: number;
  /** Extra attempts after a timeout, each a fresh message. */
  retries?: number;
}

/** Returns the response, or null to send nothing. */
export type RequestHandler = (from: Contact, request: Request, sender: SenderInfo) => Response | null | Promise<Response | null>;

export interface RpcTransport {
  readonly local: Contact;
  request(to: Address, request: Request, options?: RequestOptions): Promise<Reply>;
  onRequest(handler: RequestHandler): void;
  /**
   * Marks everything this node sends, requests and replies, as coming from a DHT client (a node
   * others cannot reach, e.g. behind NAT), or no longer. Peers that understand the mark keep the
   * node out of their routing tables and answers.
   */
  setClientMode(on: boolean): void;
  close(): Promise<void>;
}

export class RpcTimeoutError extends Error {
  constructor(to: Address, type: string) {
    super(`no answer from ${to.host}:${to.port} to ${type}`);
    this.name = "RpcTimeoutError";
  }
}

export class RpcRemoteError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "RpcRemoteError";
  }
}
