// Binds a bulk connection to the two nodes' Ed25519 identities. Each transport supplies "binding"
// bytes that only the two real endpoints of this one secured channel share (TLS: the exporter keying
// material of the session; WebRTC: both DTLS certificate fingerprints from the signed signalling).
// Each side sends HELLO = its public key + a signature over (context, its role, binding). A relay
// in the middle would hold two different sessions with two different bindings, so it cannot forward
// a valid signature. The role byte stops a peer from reflecting our own HELLO back to us.

import { Id, nodeIdFromPublicKey, toHex } from "../dht/id";
import { Identity, SignatureVerifier } from "../security/identity";
import { Credentials, PeerIdentityError } from "./bulk-api";
import { BulkHello } from "./bulk-protocol";

const CONTEXT = Buffer.from("peershare bulk hello v1\0");

/** The side that dialled (TLS client, WebRTC offerer) or accepted the connection. */
export type Role = "dialler" | "acceptor";

function transcript(role: Role, binding: Buffer): Buffer {
  return Buffer.concat([CONTEXT, Buffer.from([role === "dialler" ? 1 : 2]), binding]);
}

export function makeHello(identity: Identity, role: Role, binding: Buffer, credentials: Credentials = { memberships: [], revocations: [] }): BulkHello {
  return { type: "hello", requestId: 0, publicKey: identity.publicKey, signature: identity.sign(transcript(role, binding)), ...credentials };
}

/**
 * Checks the peer's HELLO and returns its node ID. `expected` is the ID the dialler dialled (or the
 * ID the signalling came from); null accepts any identity that proves itself.
 */
export function checkHello(hello: BulkHello, peerRole: Role, binding: Buffer, expected: Id | null, verifier: SignatureVerifier): Id {
  const id = nodeIdFromPublicKey(hello.publicKey);
  if (expected && !id.equals(expected)) {
    throw new PeerIdentityError(`expected node ${toHex(expected).slice(0, 16)}… but the peer is ${toHex(id).slice(0, 16)}…`);
  }
  if (!verifier.verify(hello.publicKey, transcript(peerRole, binding), hello.signature)) {
    throw new PeerIdentityError(`node ${toHex(id).slice(0, 16)}… sent a HELLO whose signature does not bind this channel`);
  }
  return id;
}
