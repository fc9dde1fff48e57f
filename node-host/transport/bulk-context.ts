// What both bulk paths share inside one node: who we are, what we serve, counters and timings.

import { Identity, SignatureVerifier } from "../security/identity";
import { BulkStats, CredentialExchange } from "./bulk-api";
import { Role } from "./bulk-handshake";
import { ServeHandler, SessionTiming } from "./bulk-session";
import { BufferPool } from "../util/buffer-pool";

export interface BulkContext {
  identity: Identity;
  stats: BulkStats;
  verifier: SignatureVerifier;
  /** Timings of connections this node dialled and of those it accepted. */
  timing: Record<Role, SessionTiming>;
  /** Requests in flight per connection, as dialler. */
  window: number;
  serve: ServeHandler;
  credentials?: CredentialExchange;
  /** Buffers for the objects this node receives (and sends): see BufferPool. */
  buffers: BufferPool;
  log?: (msg: string) => void;
}
