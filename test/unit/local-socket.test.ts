// The local control channel's client: a call on a connection the node has closed (the node stopped
// or restarted) fails at once with the reason, instead of waiting out its timeout.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { connectLocal, listenLocal } from "../../node-host/rpc/local-socket";

test("a call on a connection the node closed fails at once", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "local-socket-"));
  // a node that accepts the token, then goes away (as a stopped node's connections do)
  const server = await listenLocal(dir, { id: "00", host: "127.0.0.1", port: 1 }, (socket) => {
    socket.once("data", (line) => {
      const request = JSON.parse(line.toString()) as { id: number };
      socket.write(JSON.stringify({ jsonrpc: "2.0", id: request.id, result: { ok: true } }) + "\n");
      setTimeout(() => socket.destroy(), 20);
    });
  });
  try {
    const client = await connectLocal(dir);
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    await assert.rejects(client.call("node.info", {}, 30_000), /closed the connection/);
    assert.ok(Date.now() - started < 2000, `failed after ${Date.now() - started} ms, not at once`);
    client.close();
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
