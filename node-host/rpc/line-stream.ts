// Newline-delimited JSON over a byte stream: one JSON-RPC message per line.
// A line longer than the limit or that is not JSON ends the conversation with a clear reason.

import { Readable, Writable } from "node:stream";

export const MAX_LINE_BYTES = 16 << 20;

export interface LineStream {
  send(message: unknown): void;
  close(): void;
}

export function openLineStream(
  input: Readable,
  output: Writable,
  onMessage: (message: unknown) => void,
  onClose: (reason?: string) => void,
): LineStream {
  let buffered: Buffer[] = [];
  let bufferedBytes = 0;
  let closed = false;

  const close = (reason?: string) => {
    if (closed) return;
    closed = true;
    input.removeListener("data", onData);
    onClose(reason);
  };

  const onLine = (line: Buffer) => {
    if (line.length === 0) return;
    let message: unknown;
    try {
      message = JSON.parse(line.toString("utf8"));
    } catch {
      output.write(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error: not JSON" } }) + "\n");
      return;
    }
    onMessage(message);
  };

  const onData = (chunk: Buffer) => {
    let start = 0;
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, i);
      const line = bufferedBytes ? Buffer.concat([...buffered, piece]) : piece;
      buffered = [];
      bufferedBytes = 0;
      start = i + 1;
      onLine(line);
      if (closed) return;
    }
    if (start < chunk.length) {
      buffered.push(chunk.subarray(start));
      bufferedBytes += chunk.length - start;
      if (bufferedBytes > MAX_LINE_BYTES) {
        // tell the peer why, and end a two-way connection (a socket): silence would leave it waiting
        buffered = [];
        bufferedBytes = 0;
        output.write(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32600, message: `message too large: more than ${MAX_LINE_BYTES} bytes without a line break` } }) + "\n");
        close("message too large");
        if ((input as unknown) === output) output.end();
      }
    }
  };

  input.on("data", onData);
  input.once("end", () => close());
  input.once("error", (err) => close(err.message));
  output.on("error", () => close("output closed"));

  return {
    send(message: unknown) {
      if (!closed) output.write(JSON.stringify(message) + "\n");
    },
    close: () => close(),
  };
}
