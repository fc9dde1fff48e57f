// Types shared by the bulk transports beyond bulk.ts: the sink that accepts pushed replicas, the
// errors a caller can tell apart, and the counters both paths report into.

import { Id } from "../dht/id";
import { BulkPath } from "./bulk";
import { Audience } from "./bulk-protocol";

export type PutResult = "stored" | "refused";

/** Where objects pushed by peers go (replication). The sink checks the bytes hash to the id. */
export interface ObjectSink {
  putObject(from: Id, id: Buffer, bytes: Buffer): Promise<PutResult>;
  /**
   * Which of `ids` this node holds, one flag per id. With `replication` > 0 the peer offers the
   * content whose manifest is ids[0] for replication with that factor, readable by `audience`
   * (see bulk-protocol.ts). Throws AccessDeniedError when the peer may not push here.
   */
  offer?(from: Id, ids: Buffer[], replication: number, audience: Audience): Promise<boolean[]>;
}

/** Team credentials a node shows in its HELLO (see bulk-protocol.ts and security/team-cert.ts). */
export interface Credentials {
  memberships: Buffer[];
  revocations: Buffer[];
}

/** How a node takes part in the credential exchange of each bulk connection. */
export interface CredentialExchange {
  /** What this node shows its peers. */
  own(): Credentials;
  /** What a peer showed, once its HELLO proved its identity; the receiver checks every signature. */
  received(peer: Id, publicKey: Buffer, credentials: Credentials): void;
}

/** The peer at the dialled address proved a different identity than the one expected (or none). */
export class PeerIdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PeerIdentityError";
  }
}

/** A connection to a peer failed, closed, stalled or timed out; requests on it are rejected with this. */
export class BulkConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BulkConnectionError";
  }
}

/** The peer refused a request by its access policy (ERROR forbidden); the text says why. */
export class AccessDeniedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AccessDeniedError";
  }
}

/** The peer answered a request with ERROR. */
export class BulkRemoteError extends Error {
  constructor(
    readonly code: number,
    text: string,
  ) {
    super(text);
    this.name = "BulkRemoteError";
  }
}

export interface PathStats {
  bytesIn: number;
  bytesOut: number;
  connectionsOpen: number;
  connectionsOpened: number;
}

export interface BulkStats {
  tls: PathStats;
  webrtc: PathStats;
  requestsServed: number;
  /** Connections closed because the peer sent a malformed, oversized or unexpected frame. */
  protocolErrors: number;
  /** Connections whose identity handshake failed (bad signature, wrong or unexpected ID, timeout). */
  handshakeFailures: number;
  /** Connections closed because requests were pending and nothing arrived for the stall timeout. */
  stalls: number;
  idleCloses: number;
}

export function newBulkStats(): BulkStats {
  const path = (): PathStats => ({ bytesIn: 0, bytesOut: 0, connectionsOpen: 0, connectionsOpened: 0 });
  return { tls: path(), webrtc: path(), requestsServed: 0, protocolErrors: 0, handshakeFailures: 0, stalls: 0, idleCloses: 0 };
}

export type { BulkPath };
