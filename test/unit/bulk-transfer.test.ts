// Bulk transfers between real nodes on 127.0.0.1: TLS sockets and node-datachannel data channels.
// Every behaviour is checked on both paths; a few are specific to one.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import * as net from "node:net";
import * as tls from "node:tls";
import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import { once } from "node:events";
import { letDataChannelsGo } from "../helpers/datachannel-exit";
import { Identity } from "../../node-host/security/identity";
import { BulkPath, BulkPeer, ObjectNotFoundError } from "../../node-host/transport/bulk";
import { BulkConnectionError, BulkRemoteError, ObjectSink, PeerIdentityError } from "../../node-host/transport/bulk-api";
import { BulkNode, BulkNodeOptions, createBulkNode } from "../../node-host/transport/bulk-client";
import { MemorySignalHub } from "../../node-host/transport/bulk-memory-signaller";
import { Signaller } from "../../node-host/transport/webrtc-bulk";
import { encodeMessage, ErrorCodes } from "../../node-host/transport/bulk-protocol";
import { makeHello } from "../../node-host/transport/bulk-handshake";
import { makeSelfSignedCert } from "../../node-host/transport/tls-cert";

const sha = (b: Buffer) => createHash("sha256").update(b).digest();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface TestNode {
  node: BulkNode;
  peer: BulkPeer;
  identity: Identity;
  objects: Map<string, Buffer>;
}

const hub = new MemorySignalHub();
const live = new Set<BulkNode>();

async function makeNode(opts: Partial<BulkNodeOptions> & { hang?: Set<string>; delayMs?: number } = {}): Promise<TestNode> {
  const identity = opts.identity ?? Identity.generate();
  const objects = new Map<string, Buffer>();
  const self: BulkPeer = { id: identity.id, publicKey: identity.publicKey, host: "127.0.0.1", port: 0 };
  const node = await createBulkNode({
    identity,
    host: "127.0.0.1",
    port: 0,
    source: {
      getObject: async (_from, id) => {
        if (opts.hang?.has(id.toString("hex"))) await new Promise(() => undefined);
        if (opts.delayMs) await sleep(opts.delayMs);
        return objects.get(id.toString("hex")) ?? null;
      },
    },
    signaller: hub.signallerFor(self),
    ...opts,
  });
  live.add(node);
  return { node, identity, objects, peer: { ...self, port: node.tcpPort ?? 9 } };
}

function put(n: TestNode, bytes: Buffer): Buffer {
  const id = sha(bytes);
  n.objects.set(id.toString("hex"), bytes);
  return id;
}

async function closeNode(n: TestNode): Promise<void> {
  live.delete(n.node);
  await n.node.close();
}

after(async () => {
  await Promise.all([...live].map((n) => n.close()));
  letDataChannelsGo();
});

for (const path_ of ["tls", "webrtc"] as BulkPath[]) {
  const forceWebRtc = path_ === "webrtc";
  describe(`over ${path_}`, () => {
    test("objects of 0, 1, 64 KiB + 1 and 4 MiB arrive intact, on one connection", async () => {
      const a = await makeNode({ forceWebRtc });
      const b = await makeNode();
      try {
        const sizes = [0, 1, 64 * 1024 + 1, 4 * 1024 * 1024];
        const ids = sizes.map((n) => put(b, randomBytes(n)));
        assert.equal(await a.node.client.pathTo(b.peer), path_);
        for (const [i, id] of ids.entries()) {
          const got = await a.node.client.getObject(b.peer, id);
          assert.equal(got.length, sizes[i]);
          assert.ok(sha(got).equals(id), `object of ${sizes[i]} bytes hashes to its id`);
        }
        assert.equal(a.node.connections, 1);
        assert.equal(b.node.stats[path_].connectionsOpened, 1);
        assert.ok(a.node.stats[path_].bytesIn > 4 * 1024 * 1024);
        assert.ok(hub.largestPayload <= 1000);
      } finally {
        await Promise.all([closeNode(a), closeNode(b)]);
      }
    });

    test("objects read into pooled buffers: a buffer is reused only after the reply it carried is sent", async () => {
      const a = await makeNode({ forceWebRtc, window: 16 });
      const objects = new Map<string, Buffer>();
      const lent = new Set<ArrayBufferLike>();
      let reused = 0;
      const b = await makeNode({
        source: {
          // reads like the store does: into the buffer offered, returning a view of it
          getObject: async (_from, id, into) => {
            const bytes = objects.get(id.toString("hex"));
            if (!bytes || !into) return null;
            if (lent.has(into.buffer)) reused++;
            lent.add(into.buffer);
            bytes.copy(into);
            return into.subarray(0, bytes.length);
          },
        },
      });
      try {
        const ids = Array.from({ length: 64 }, (_, i) => {
          const bytes = randomBytes(256 * 1024 + i);
          const id = sha(bytes);
          objects.set(id.toString("hex"), bytes);
          return id;
        });
        const got = await Promise.all(ids.map((id) => a.node.client.getObject(b.peer, id)));
        got.forEach((bytes, i) => assert.ok(sha(bytes).equals(ids[i]), `object ${i} arrived intact`));
        assert.ok(reused > 0, "buffers were reused");
        assert.ok(lent.size <= 32, `${lent.size} buffers for 64 objects, at most 16 in flight`);
      } finally {
        await Promise.all([closeNode(a), closeNode(b)]);
      }
    });

    test("a missing object is NOT_FOUND, and the connection keeps serving", async () => {
      const a = await makeNode({ forceWebRtc });
      const b = await makeNode();
      try {
        await assert.rejects(a.node.client.getObject(b.peer, randomBytes(32)), ObjectNotFoundError);
        const id = put(b, Buffer.from("still here"));
        assert.equal((await a.node.client.getObject(b.peer, id)).toString(), "still here");
        assert.equal(b.node.stats[path_].connectionsOpened, 1);
      } finally {
        await Promise.all([closeNode(a), closeNode(b)]);
      }
    });

    test("200 pipelined requests complete on one connection, at most `window` in flight", async () => {
      const a = await makeNode({ forceWebRtc, window: 8 });
      const b = await makeNode();
      try {
        const ids = Array.from({ length: 200 }, (_, i) => put(b, randomBytes(1000 + i * 97)));
        const got = await Promise.all(ids.map((id) => a.node.client.getObject(b.peer, id)));
        got.forEach((bytes, i) => assert.ok(sha(bytes).equals(ids[i])));
        assert.equal(a.node.connections, 1);
        assert.equal(b.node.stats[path_].connectionsOpened, 1);
        assert.equal(b.node.stats.requestsServed, 200);
      } finally {
        await Promise.all([closeNode(a), closeNode(b)]);
      }
    });

    test("a peer that proves a different identity than the one dialled is refused", async () => {
      const a = await makeNode({ forceWebRtc });
      const b = await makeNode();
      const c = Identity.generate();
      hub.redirect(c.id, b.identity.id); // WebRTC: signalling for C reaches B
      try {
        const wrong: BulkPeer = { ...b.peer, id: c.id, publicKey: c.publicKey };
        await assert.rejects(a.node.client.getObject(wrong, randomBytes(32)), (err: Error) => {
          assert.ok(err instanceof PeerIdentityError, `${err.name}: ${err.message}`);
          assert.match(err.message, /expected node .* but the peer is/);
          return true;
        });
        assert.equal(a.node.connections, 0);
        // B is fine, and reachable under its own identity.
        const id = put(b, Buffer.from("b"));
        assert.equal((await a.node.client.getObject(b.peer, id)).toString(), "b");
      } finally {
        await Promise.all([closeNode(a), closeNode(b)]);
      }
    });

    test("a request pending when the serving node goes away rejects promptly", async () => {
      const stuck = randomBytes(32);
      const a = await makeNode({ forceWebRtc });
      const b = await makeNode({ hang: new Set([stuck.toString("hex")]) });
      try {
        await a.node.client.pathTo(b.peer); // connected: DTLS set-up can take a second
        const pending = a.node.client.getObject(b.peer, stuck);
        await sleep(200);
        const started = Date.now();
        await closeNode(b);
        await assert.rejects(pending, BulkConnectionError);
        assert.ok(Date.now() - started < 2000, `rejected after ${Date.now() - started} ms`);
      } finally {
        await closeNode(a);
      }
    });

    test("a slow peer that is alive keeps its connection: PINGs are answered while it works", async () => {
      // the stall timeout well above a loaded 2-core machine's event-loop pauses, the work well above it
      const a = await makeNode({ forceWebRtc, stallMs: 1000 });
      const b = await makeNode({ delayMs: 3000 });
      try {
        await a.node.client.pathTo(b.peer);
        const id = put(b, randomBytes(10));
        assert.ok(sha(await a.node.client.getObject(b.peer, id)).equals(id));
        assert.equal(a.node.stats.stalls, 0);
        assert.equal(b.node.stats[path_].connectionsOpened, 1);
      } finally {
        await Promise.all([closeNode(a), closeNode(b)]);
      }
    });

    test("a serving process killed with SIGKILL mid-request: the pending getObject rejects promptly", async () => {
      const child = spawn(process.execPath, ["-e", CHILD_SERVER], { stdio: ["ignore", "pipe", "inherit", "ipc"] });
      const [line] = (await once(child.stdout!, "data")) as [Buffer];
      const info = JSON.parse(line.toString()) as { id: string; publicKey: string; port: number };
      const peer: BulkPeer = { id: Buffer.from(info.id, "hex"), publicKey: Buffer.from(info.publicKey, "hex"), host: "127.0.0.1", port: info.port };
      const identity = Identity.generate();
      const a = await makeNode({ identity, forceWebRtc, stallMs: 1000, signaller: ipcSignaller(child, identity) });
      try {
        assert.equal(await a.node.client.pathTo(peer), path_);
        const pending = a.node.client.getObject(peer, randomBytes(32)); // the child never answers it
        pending.catch(() => undefined);
        await sleep(300);
        const started = Date.now();
        child.kill("SIGKILL");
        await assert.rejects(pending, BulkConnectionError);
        assert.ok(Date.now() - started < 2500, `rejected after ${Date.now() - started} ms`);
      } finally {
        child.kill("SIGKILL");
        await closeNode(a);
      }
    });

    test("a connection with nothing in flight closes after idleMs, and the next request redials", async () => {
      const a = await makeNode({ forceWebRtc, idleMs: 200 });
      const b = await makeNode({ idleMs: 200 });
      try {
        const id = put(b, randomBytes(100));
        await a.node.client.getObject(b.peer, id);
        assert.equal(a.node.connections, 1);
        await sleep(700);
        assert.equal(a.node.connections, 0);
        assert.equal(a.node.stats[path_].connectionsOpen, 0);
        assert.ok(a.node.stats.idleCloses >= 1);
        await a.node.client.getObject(b.peer, id);
        assert.equal(b.node.stats[path_].connectionsOpened, 2);
      } finally {
        await Promise.all([closeNode(a), closeNode(b)]);
      }
    });

    test("replicas pushed with putObject reach the sink: stored, refused, or unsupported", async () => {
      const received: Buffer[] = [];
      const sink: ObjectSink = {
        putObject: async (from, id, bytes) => {
          if (bytes.length === 0) return "refused";
          assert.ok(from.equals(a.identity.id), "the sink learns the authenticated sender");
          assert.ok(sha(bytes).equals(id));
          received.push(bytes);
          return "stored";
        },
      };
      const a = await makeNode({ forceWebRtc });
      const b = await makeNode({ sink });
      const c = await makeNode();
      try {
        const bytes = randomBytes(300_000);
        assert.equal(await a.node.client.putObject(b.peer, sha(bytes), bytes), "stored");
        assert.ok(received[0].equals(bytes));
        assert.equal(await a.node.client.putObject(b.peer, sha(Buffer.alloc(0)), Buffer.alloc(0)), "refused");
        await assert.rejects(a.node.client.putObject(c.peer, sha(bytes), bytes), (err: Error) => err instanceof BulkRemoteError && err.code === ErrorCodes.unsupported);
      } finally {
        await Promise.all([closeNode(a), closeNode(b), closeNode(c)]);
      }
    });

    test("an aborted request rejects at once and leaves the connection usable", async () => {
      const stuck = randomBytes(32);
      const a = await makeNode({ forceWebRtc });
      const b = await makeNode({ hang: new Set([stuck.toString("hex")]) });
      try {
        const ctl = new AbortController();
        const pending = a.node.client.getObject(b.peer, stuck, ctl.signal);
        await sleep(100);
        ctl.abort();
        await assert.rejects(pending, { name: "AbortError" });
        const id = put(b, Buffer.from("ok"));
        assert.equal((await a.node.client.getObject(b.peer, id)).toString(), "ok");
        assert.equal(a.node.connections, 1);
      } finally {
        await Promise.all([closeNode(a), closeNode(b)]);
      }
    });
  });
}

describe("path choice", () => {
  test("a peer whose TCP port does not answer is reached over WebRTC", async () => {
    const a = await makeNode();
    const b = await makeNode();
    try {
      const closedPort = await freePort();
      const unreachable = { ...b.peer, port: closedPort };
      const id = put(b, randomBytes(5000));
      assert.ok(sha(await a.node.client.getObject(unreachable, id)).equals(id));
      assert.equal(await a.node.client.pathTo(unreachable), "webrtc");
    } finally {
      await Promise.all([closeNode(a), closeNode(b)]);
    }
  });

  test("a node whose TCP port is taken says so, and peers reach it over WebRTC", async () => {
    const squatter = net.createServer((s) => s.end("not TLS\r\n"));
    await new Promise<void>((r) => squatter.listen(0, "127.0.0.1", r));
    const port = (squatter.address() as net.AddressInfo).port;
    const a = await makeNode();
    const b = await makeNode({ port });
    try {
      assert.equal(b.node.tcpListening, false);
      assert.match(b.node.tcpError ?? "", /EADDRINUSE/);
      const peer = { ...b.peer, port };
      const id = put(b, randomBytes(5000));
      assert.ok(sha(await a.node.client.getObject(peer, id)).equals(id));
      assert.equal(await a.node.client.pathTo(peer), "webrtc");
    } finally {
      squatter.close();
      await Promise.all([closeNode(a), closeNode(b)]);
    }
  });
});

describe("TLS server robustness", () => {
  test("malformed frames close that connection only; the server keeps serving others", async () => {
    const a = await makeNode();
    const b = await makeNode();
    try {
      const id = put(b, randomBytes(2000));
      await a.node.client.getObject(b.peer, id);
      const garbage = [
        Buffer.from("ffffffff01000000", "hex"), // a length far above the limit
        Buffer.from("0000000599000000000000000000", "hex"), // an unknown frame type
        Buffer.concat([Buffer.from("000000251000000001", "hex"), Buffer.alloc(32)]), // GET_OBJECT before HELLO
      ];
      for (const g of garbage) {
        const s = tls.connect({ host: "127.0.0.1", port: b.peer.port, rejectUnauthorized: false, ALPNProtocols: ["peershare-bulk/1"] });
        await once(s, "secureConnect");
        s.on("error", () => undefined);
        s.write(g);
        await once(s, "close");
      }
      const raw = net.connect(b.peer.port, "127.0.0.1");
      raw.on("error", () => undefined);
      raw.write("GET / HTTP/1.1\r\n\r\n");
      await once(raw, "close");
      assert.equal(b.node.stats.protocolErrors, 3);
      assert.ok(b.node.stats.handshakeFailures >= 1);
      assert.ok(sha(await a.node.client.getObject(b.peer, id)).equals(id));
      assert.equal(a.node.connections, 1, "the well-behaved connection was not disturbed");
    } finally {
      await Promise.all([closeNode(a), closeNode(b)]);
    }
  });

  test("a peer that completes the handshake and then goes silent is dropped after stallMs", async () => {
    const silent = Identity.generate();
    const server = tls.createServer({ ...makeSelfSignedCert(), minVersion: "TLSv1.3", ALPNProtocols: ["peershare-bulk/1"] }, (s) => {
      const binding = s.exportKeyingMaterial(32, "peershare bulk v1", Buffer.alloc(0));
      for (const part of encodeMessage(makeHello(silent, "acceptor", binding))) s.write(part);
      s.on("data", () => undefined); // reads requests and PINGs, answers nothing
      s.on("error", () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const a = await makeNode({ stallMs: 500 });
    try {
      const peer: BulkPeer = { id: silent.id, publicKey: silent.publicKey, host: "127.0.0.1", port: (server.address() as net.AddressInfo).port };
      const started = Date.now();
      await assert.rejects(a.node.client.getObject(peer, randomBytes(32)), /nothing received for 500 ms/);
      assert.ok(Date.now() - started < 1500, `dropped after ${Date.now() - started} ms`);
      assert.equal(a.node.stats.stalls, 1);
    } finally {
      server.close();
      await closeNode(a);
    }
  });
});

// A bulk node in its own process that never answers a request; it takes WebRTC offers over IPC.
const CHILD_SERVER = `
const { createBulkNode } = require(${JSON.stringify(path.resolve(__dirname, "../../node-host/transport/bulk-client.js"))});
const { Identity } = require(${JSON.stringify(path.resolve(__dirname, "../../node-host/security/identity.js"))});
const identity = Identity.generate();
let answer = null;
process.on("message", async (m) => {
  const from = { id: Buffer.from(m.from, "hex"), publicKey: Buffer.alloc(32), host: "127.0.0.1", port: 0 };
  const reply = await answer(from, Buffer.from(m.payload, "hex"));
  process.send({ reply: reply ? reply.toString("hex") : null });
});
createBulkNode({
  identity, host: "127.0.0.1", port: 0,
  source: { getObject: () => new Promise(() => {}) },
  signaller: { signal: async () => { throw new Error("none"); }, onSignal: (h) => { answer = h; } },
}).then((n) => process.stdout.write(JSON.stringify({ id: identity.id.toString("hex"), publicKey: identity.publicKey.toString("hex"), port: n.tcpPort }) + "\\n"));
`;

/** Signalling to the child process above, over its IPC channel (one offer at a time). */
function ipcSignaller(child: ChildProcess, self: Identity): Signaller {
  return {
    signal: async (_peer, payload) => {
      child.send({ from: self.id.toString("hex"), payload: payload.toString("hex") });
      const [m] = (await once(child, "message")) as [{ reply: string | null }];
      if (!m.reply) throw new Error("signalling not accepted");
      return Buffer.from(m.reply, "hex");
    },
    onSignal: () => undefined,
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
