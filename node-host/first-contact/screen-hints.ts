// Which of a link's or invite's address hints are worth a datagram, before any is sent (pure:
// unit-tested). Skipped, each with the reason a user reads in `fetch --json`:
//   - addresses no datagram reaches (unspecified, multicast, broadcast, reserved, port 0);
//   - private, loopback and link-local addresses when the hints also name public ones: a node
//     reachable on the internet has no business sending fetchers to a LAN (and a crafted link
//     should not make them probe one);
//   - entries of kinds this version does not know.

import * as net from "node:net";
import { HostPort, isPublicAddress, normalizeHost } from "../nat/address";
import { ipBytes } from "../util/ip-address";
import type { HintOutcome } from "../rpc/api-types";
import { describeHint, Hints, RendezvousHint } from "./hints";

export type { HintOutcome };

export interface ScreenedHints {
  direct: HostPort[];
  rendezvous: RendezvousHint[];
  skipped: HintOutcome[];
}

/** Whether no datagram can be sent there: unspecified, multicast, broadcast or reserved (240/4) addresses. */
function unroutable(host: string): boolean {
  const h = normalizeHost(host);
  if (net.isIPv4(h)) {
    const first = Number(h.split(".")[0]);
    return first === 0 || first >= 224;
  }
  const bytes = ipBytes(h);
  return !bytes || bytes.every((b) => b === 0) || bytes[0] === 0xff;
}

export function screenHints(hints: Hints): ScreenedHints {
  const out: ScreenedHints = { direct: [], rendezvous: [], skipped: [] };
  const all: [kind: "direct" | "rendezvous", entry: HostPort][] = [...hints.direct.map((a): ["direct", HostPort] => ["direct", a]), ...hints.rendezvous.map((r): ["rendezvous", HostPort] => ["rendezvous", r])];
  const namesPublic = all.some(([, a]) => isPublicAddress(a.host));
  for (const [kind, entry] of all) {
    const hint = describeHint(kind, entry);
    if (unroutable(entry.host)) out.skipped.push({ hint, outcome: "skipped", reason: "an address no datagram can be sent to" });
    else if (namesPublic && !isPublicAddress(entry.host)) out.skipped.push({ hint, outcome: "skipped", reason: "a private or local address, from a link that names public ones" });
    else if (kind === "direct") out.direct.push(entry);
    else out.rendezvous.push(entry as RendezvousHint);
  }
  for (let i = 0; i < hints.unknown; i++) out.skipped.push({ hint: "unknown", outcome: "skipped", reason: "an entry of a kind this version of peershare does not know" });
  return out;
}
