// One request over a lossy network: sent again each time it is late again (at the contact's late
// deadline, twice that; a datagram or its answer may have been lost: ~2% of round trips on the
// internet), at most MAX_COPIES in all. The first answer to any copy counts, until the contact's
// give-up deadline from the first send (rtt.ts); every copy is a fresh request, so each answer
// is matched to its own copy and its round trip is a clean sample.

import { Clock } from "./clock";
import { Request } from "./messages";
import { Address, Reply, RpcTimeoutError, RpcTransport } from "./transport";

/** A late request is sent again, up to this many copies in all. */
export const MAX_COPIES = 3;

export interface ResendDeadlines {
  lateMs: number;
  giveUpMs: number;
}

/** Sends `req` to `to` with resends; `onLate` is told when it is late the first time (the first resend). */
export function requestWithResends(transport: RpcTransport, clock: Clock, to: Address, req: Request, deadlines: ResendDeadlines, onLate?: () => void): Promise<Reply> {
  const { lateMs, giveUpMs } = deadlines;
  const firstSent = clock.elapsed();
  return new Promise<Reply>((resolve, reject) => {
    let outstanding = 0;
    let copies = 0;
    let settled = false;
    let cancelResend = () => {};
    const settle = (done: () => void) => {
      if (settled) return;
      settled = true;
      cancelResend();
      done();
    };
    const send = () => {
      if (copies === 1) onLate?.();
      copies++;
      outstanding++;
      const waitMs = Math.max(1, giveUpMs - (clock.elapsed() - firstSent));
      transport.request(to, req, { timeoutMs: waitMs }).then(
        (reply) => settle(() => resolve(reply)),
        (err: unknown) => {
          outstanding--;
          // every copy ends by the same deadline; anything but a timeout ends the request at once
          if (!(err instanceof RpcTimeoutError) || outstanding === 0) settle(() => reject(err));
        },
      );
      if (copies < MAX_COPIES && copies * lateMs < giveUpMs) cancelResend = clock.setTimer(send, lateMs);
    };
    send();
  });
}
