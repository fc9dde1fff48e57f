// The DHT protocol's messages as plain objects. The core works with these; transports turn them
// into bytes (transport/wire.ts) or pass them along in memory (transport/memory.ts).

import { Id } from "./id";

/** A node as others see it. Its ID is always SHA-256 of its public key, never taken from the wire. */
export interface Contact {
  id: Id;
  publicKey: Buffer;
  host: string;
  port: number;
  /** For a node behind NAT: the rendezvous nodes its requests go through (nat/), never sent on the wire as part of a contact. */
  via?: Contact[];
}

/** A signed, expiring value published under a key derived from its publisher's key and a name. */
export interface ValueRecord {
  publisher: Buffer;
  name: string;
  value: Buffer;
  seq: number;
  expires: number;
  signature: Buffer;
}

/** A signed statement by `provider` that it holds content `key`, until `expires`. */
export interface ProviderRecord {
  key: Id;
  provider: Contact;
  expires: number;
  signature: Buffer;
}

export type Request =
  | { type: "ping" }
  | { type: "find_node"; target: Id }
  | { type: "find_value"; key: Id }
  | { type: "store"; record: ValueRecord }
  | { type: "add_provider"; record: ProviderRecord }
  | { type: "get_providers"; key: Id }
  | { type: "leave" }
  /** Opaque signalling for a WebRTC connection (offer or answer), signed like every message. */
  | { type: "signal"; payload: Buffer }
  /** One team membership of the sender (security/team-cert.ts), shown before it stores records. */
  | { type: "credentials"; membership: Buffer };

export const ErrorCodes = {
  BadRequest: 1,
  InvalidRecord: 2,
  StorageFull: 3,
  Unsupported: 4,
  /** The receiver's policy does not take this from the sender (e.g. records from a non-member). */
  Forbidden: 5,
} as const;

export type Response =
  | { type: "pong" }
  | { type: "nodes"; contacts: Contact[] }
  | { type: "value"; record: ValueRecord }
  | { type: "stored" }
  | { type: "providers"; providers: ProviderRecord[]; contacts: Contact[] }
  | { type: "signal"; payload: Buffer }
  | { type: "error"; code: number; message: string };

export type RequestType = Request["type"];
export type ResponseType = Response["type"];
