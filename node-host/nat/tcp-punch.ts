// A TCP connection through two NATs (or stateful firewalls) by simultaneous open: each end connects
// to the other's external address from a port of its own choosing, at about the same time (told of
// each other's port by one signal through a rendezvous). Each end's outgoing SYN opens its own NAT
// for the other's, and the kernel completes a connection from two SYNs that cross. A NAT that keeps
// a connection's source port (Linux MASQUERADE does when it can: an endpoint-independent mapping)
// needs no port prediction. A SYN that arrives before the other end's went out is dropped, and the
// kernel would send it again only after a second: so an attempt that has not connected soon is
// given up and made again from the same port (same NAT mapping), each attempt given twice as long
// as the one before (a reply slower than an attempt would otherwise meet a newer socket and reset
// the other end's), and a refusal is retried soon after.
// The connection then carries TLS, run end to end as on every path.

import * as net from "node:net";
import { HostPort } from "./address";

const LOW_PORT = 20_000;
const HIGH_PORT = 60_000;
const RETRY_MS = 150;
/** How long the first SYN is given before another is sent (the kernel's own retry is after 1 s). */
const FIRST_ATTEMPT_MS = 250;

/** A local port to punch from (the kernel says at connect time whether it is free). */
export function punchPort(): number {
  return LOW_PORT + Math.floor(Math.random() * (HIGH_PORT - LOW_PORT));
}

/** Connects from `localPort` to `remote` until it connects or `timeoutMs` passes (retrying refusals). */
export async function punchTcp(localPort: number, remote: HostPort, timeoutMs: number): Promise<net.Socket> {
  const deadline = Date.now() + timeoutMs;
  let last: Error = new Error("no attempt");
  let attemptMs = FIRST_ATTEMPT_MS;
  while (Date.now() < deadline) {
    try {
      return await connectOnce(localPort, remote, Math.min(attemptMs, deadline - Date.now()));
    } catch (err) {
      last = err as Error;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ETIMEDOUT") {
        attemptMs *= 2;
        continue;
      }
      if (code !== "ECONNREFUSED" && code !== "ECONNRESET") break;
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
  throw new Error(`no TCP connection through to ${remote.host}:${remote.port} from port ${localPort}: ${last.message}`);
}

function connectOnce(localPort: number, remote: HostPort, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: remote.host, port: remote.port, localPort, localAddress: net.isIPv6(remote.host) ? "::" : "0.0.0.0" });
    const timer = setTimeout(() => {
      s.destroy();
      reject(Object.assign(new Error(`timed out after ${timeoutMs} ms`), { code: "ETIMEDOUT" }));
    }, Math.max(1, timeoutMs));
    s.once("connect", () => {
      clearTimeout(timer);
      s.setNoDelay(true);
      s.removeAllListeners("error");
      s.on("error", () => s.destroy()); // the TLS session over it sees the close
      resolve(s);
    });
    s.once("error", (err) => {
      clearTimeout(timer);
      s.destroy();
      reject(err);
    });
  });
}
