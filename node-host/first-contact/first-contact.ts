// Using a link's or invite's address hints (hints.ts): a node that knows nobody, or not the node
// that made the link, reaches it from the hints alone.
//
//   1. screen-hints.ts drops entries no datagram should go to;
//   2. each direct address is pinged under the key the hints name (a datagram only that key can
//      authenticate an answer to), each rendezvous node by its address, its answer taken only from
//      a key whose ID starts with the named prefix; all at once, so bad hints cost one timeout;
//   3. the nodes that answered are bootstrap contacts (maintenance.addBootstrap): a node that was
//      alone joins the network through them, and learns the rest through the DHT (meanwhile: the
//      fetch goes on with the hinted node, and a lookup needs only one contact to start from);
//   4. the node that made the link becomes a holder candidate (or, for an invite, the admin to tell
//      of the new membership): at the direct address that answered, or behind NAT with `via` = the
//      rendezvous nodes that answered, once a request forwarded through them came back from it.
//
// Each entry's outcome, used or skipped and why, is reported as it is known (`fetch --json`).

import { Id, nodeIdFromPublicKey, toHex } from "../dht/id";
import { Contact } from "../dht/messages";
import { Address, KnownAddress, RpcTransport } from "../dht/transport";
import { Maintenance } from "../maintenance";
import { BulkPeer } from "../transport/bulk";
import { HostPort } from "../nat/address";
import { describeHint, Hints, ID_PREFIX_BYTES, RendezvousHint } from "./hints";
import { HintOutcome, screenHints } from "./screen-hints";

export type { HintOutcome } from "./screen-hints";

export interface FirstContactOptions {
  self: Id;
  transport: RpcTransport;
  maintenance: Maintenance;
  /**
   * Runs before a node behind NAT is returned: makes sure this node knows whether it can be reached
   * itself, since the ways to a node behind NAT depend on it (a fresh node that does not know yet
   * would first ask to be connected back, and wait out that timeout when it is behind NAT too).
   */
  beforeNatPaths?: () => Promise<void>;
  log?: (line: string) => void;
}

/** What the hints led to. */
export interface Reached {
  /** The node that made the link, as a holder candidate (with `via` when it is behind NAT); null when it did not answer. */
  node: BulkPeer | null;
  /** Hinted contacts that answered (direct and rendezvous), for keeping as bootstrap contacts. */
  answered: Contact[];
}

const short = (id: Buffer) => `${toHex(id).slice(0, 12)}…`;

export class FirstContact {
  constructor(private readonly o: FirstContactOptions) {}

  /** Follows the hints (see the top of this file); `report` hears each entry's outcome. */
  async reach(hints: Hints, report: (o: HintOutcome) => void): Promise<Reached> {
    const id = nodeIdFromPublicKey(hints.node);
    if (id.equals(this.o.self)) return { node: null, answered: [] }; // this node's own link
    const screened = screenHints(hints);
    screened.skipped.forEach(report);
    const target: KnownAddress = { id, publicKey: hints.node, host: "", port: 0 };
    const [direct, rendezvous] = await Promise.all([
      Promise.all(screened.direct.map((a) => this.tryDirect({ ...target, ...a }, report))),
      Promise.all(screened.rendezvous.map((r) => this.tryRendezvous(r, id, report))),
    ]);
    const directOk = direct.filter((c): c is Contact => c !== null);
    const via = rendezvous.filter((c): c is Contact => c !== null);
    const node = directOk[0] ?? (via.length ? await this.behindNat(target, via, screened.direct[0] ?? via[0], report) : null);
    return { node, answered: [...directOk, ...via] };
  }

  /** The node itself at a direct address: only it can answer a datagram under its key. */
  private async tryDirect(contact: KnownAddress, report: (o: HintOutcome) => void): Promise<Contact | null> {
    const hint = describeHint("direct", contact);
    try {
      await this.o.transport.request(contact, { type: "ping" }, { retries: 1 });
    } catch {
      report({ hint, outcome: "skipped", reason: `no answer from node ${short(contact.id)} there (a wrong, stale or unreachable address, or another node)` });
      return null;
    }
    await this.o.maintenance.addBootstrap(contact, "named by a link");
    report({ hint, outcome: "used", reason: `node ${short(contact.id)} answered there` });
    return { id: contact.id, publicKey: contact.publicKey, host: contact.host, port: contact.port };
  }

  /** A rendezvous node: asked by address, its answer counts only from a key with the named ID prefix. */
  private async tryRendezvous(r: RendezvousHint, target: Id, report: (o: HintOutcome) => void): Promise<Contact | null> {
    const hint = describeHint("rendezvous", r);
    const expected = `${r.idPrefix.toString("hex")}…`;
    let from: Contact;
    try {
      from = (await this.o.transport.request({ host: r.host, port: r.port }, { type: "ping" }, { retries: 1 })).from;
    } catch {
      report({ hint, outcome: "skipped", reason: `no answer there (a wrong, stale or unreachable address)` });
      return null;
    }
    if (!from.id.subarray(0, ID_PREFIX_BYTES).equals(r.idPrefix)) {
      report({ hint, outcome: "skipped", reason: `node ${short(from.id)} answered there, not the ${expected} the hint names` });
      return null;
    }
    if (from.id.equals(target)) {
      report({ hint, outcome: "skipped", reason: "it names the sharing node itself, as a rendezvous" });
      return null;
    }
    if ((await this.o.maintenance.addBootstrap({ ...from, host: r.host, port: r.port }, "named by a link")) === "unreachable") {
      report({ hint, outcome: "skipped", reason: `node ${short(from.id)} stopped answering` });
      return null;
    }
    report({ hint, outcome: "used", reason: `rendezvous node ${short(from.id)} answered there` });
    return { ...from, host: r.host, port: r.port };
  }

  /** The node behind NAT, once a ping forwarded through its rendezvous nodes came back from it. */
  private async behindNat(target: KnownAddress, via: Contact[], nominal: HostPort, report: (o: HintOutcome) => void): Promise<BulkPeer | null> {
    const peer: BulkPeer = { ...target, host: nominal.host, port: nominal.port, via, reach: { reachable: false, mapping: "unknown", udp: true } };
    try {
      await Promise.all([this.o.transport.request(peer as Address, { type: "ping" }, { retries: 1 }), this.o.beforeNatPaths?.()]);
      return peer;
    } catch {
      report({ hint: `node ${short(target.id)}`, outcome: "skipped", reason: "its rendezvous nodes answered, but no request forwarded through them reached it" });
      return null;
    }
  }
}
