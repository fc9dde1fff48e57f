// Bulk data between nodes: objects (chunks and manifests) fetched by ID from a peer, over a direct
// TLS connection when the peer is reachable and over a WebRTC data channel when it is not. The
// transfer layer sees only these interfaces; tls-bulk.ts and webrtc-bulk.ts implement them.

import { Id } from "../dht/id";

/** A peer to exchange objects with: its identity and the address its UDP (and TCP) port listens on. */
export interface BulkPeer {
  id: Id;
  publicKey: Buffer;
  host: string;
  port: number;
  /**
   * A peer behind NAT (reach.reachable false): its rendezvous nodes (signals go through them; they
   * also relay; none when this node is its rendezvous) and what its reach record says.
   */
  via?: BulkPeer[];
  reach?: {
    reachable: boolean;
    mapping: "unknown" | "none" | "endpoint-independent" | "endpoint-dependent";
    udp: boolean;
    external?: { host: string; port: number }[];
    /** The rendezvous nodes at the addresses the peer registered with them (of either family). */
    rendezvous?: BulkPeer[];
  };
}

export type BulkPath = "tls" | "webrtc";

/**
 * How a connection reaches its peer, as users are told: direct TLS, TLS the peer behind NAT opened
 * back to this node, a WebRTC data channel (a punched hole, or a LAN), or TLS relayed through a node.
 */
export interface SessionRoute {
  path: "tls" | "tls-reverse" | "tls-punched" | "webrtc" | "relay";
  /** The relaying node's ID (hex), for "relay". */
  relay?: string;
}

/** What a node serves: an object's stored bytes, or null when it does not have it (or will not give it). */
export interface ObjectSource {
  /**
   * `into` is a buffer the bytes may be read into (returning a view of it) when they fit: it stays
   * the source's until the reply carrying them has been sent. A source may ignore it.
   */
  getObject(requester: Id, id: Buffer, into?: Buffer): Promise<Buffer | null>;
}

export class ObjectNotFoundError extends Error {
  constructor(readonly objectId: Buffer) {
    super(`the peer does not have object ${objectId.toString("hex")}`);
    this.name = "ObjectNotFoundError";
  }
}

export interface BulkClient {
  /**
   * Fetches one object's stored bytes from a peer (not yet verified: the caller checks the hash).
   * Many calls to the same peer share one connection and are pipelined. Rejects with
   * ObjectNotFoundError, or with an Error naming the peer when the connection fails.
   */
  getObject(peer: BulkPeer, id: Buffer, signal?: AbortSignal): Promise<Buffer>;
  /**
   * Optional: hands back the bytes of a fetched object once nothing reads them any more, so their
   * memory receives a later object. Bytes not given back are garbage-collected as usual.
   */
  release?(bytes: Buffer): void;
  /** How the open connection to a peer (by ID) reaches it, or null when none is open; never connects. */
  routeOf?(peer: Id): SessionRoute | null;
  /** Which path a connection to this peer uses (connecting if needed). */
  pathTo(peer: BulkPeer): Promise<BulkPath>;
  close(): Promise<void>;
}
