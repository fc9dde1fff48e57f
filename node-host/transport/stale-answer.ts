// The answer to an authentic request whose timestamp is too far from the receiver's clock: an
// ordinary error response (ErrorCodes.Stale), stamped with the receiver's clock, so the sender
// learns from it how far off its own clock is (clock-offset.ts). Nodes of 0.1.0 drop it unread (its
// timestamp is stale to them too), as they drop the request.

import { ErrorCodes, Response } from "../dht/messages";

export function staleAnswer(): Response {
  return { type: "error", code: ErrorCodes.Stale, message: "timestamp too far from the receiver's clock" };
}

export function answersStale(response: Response): boolean {
  return response.type === "error" && response.code === ErrorCodes.Stale;
}
