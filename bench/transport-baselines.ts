// Bulk transport throughput on loopback, each beside the raw baseline it is built on:
//   (a) raw TCP, Node socket to socket, 1 MiB writes (and, for fetches to a file, file to socket to file)
//   (b) one raw node-datachannel channel, paced messages
//   (c) peershare's TLS path and (d) its WebRTC path, moving 1 MiB objects with getObject
//   node dist/bench/transport-baselines.js [MiB=256]
// Figures are MB/s (10^6 bytes per second), one process holding both ends.

import { mbPerSecond } from "./stats";
import { runScript } from "../scripts/run-script";
import * as net from "node:net";
import { createReadStream, createWriteStream, promises as fsp } from "node:fs";
import { pipeline } from "node:stream/promises";
import { randomBytes } from "node:crypto";
import { PeerConnection } from "node-datachannel";
import { Identity } from "../node-host/security/identity";
import { mapLimit } from "../node-host/util/concurrency";
import { BulkPath, BulkPeer } from "../node-host/transport/bulk";
import { createBulkNode } from "../node-host/transport/bulk-client";
import { MemorySignalHub } from "../node-host/transport/bulk-memory-signaller";
import { guard } from "../node-host/transport/webrtc-link";

const MiB = 1024 * 1024;

/** (a) N bytes through a loopback TCP connection, 1 MiB writes honouring back-pressure. */
export async function rawTcpCopy(totalBytes: number): Promise<number> {
  const block = randomBytes(MiB);
  let received = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const server = net.createServer((s) =>
    s.on("data", (d: Buffer) => {
      received += d.length;
      if (received >= totalBytes) done();
    }),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  await new Promise((r) => client.once("connect", r));
  const started = performance.now();
  for (let sent = 0; sent < totalBytes; sent += MiB) {
    if (!client.write(sent + MiB <= totalBytes ? block : block.subarray(0, totalBytes - sent))) await new Promise((r) => client.once("drain", r));
  }
  await finished;
  const ms = performance.now() - started;
  client.destroy();
  server.close();
  return mbPerSecond(totalBytes, ms);
}

/**
 * (a) for fetches that end in a file: `source` read in 1 MiB pieces, sent through a loopback TCP
 * connection and written to `target` by a write stream, timed until the stream has closed the file.
 * This is the "raw Node TCP file copy" that ../shared/PERF-FACTS.md measures WebTorrent and Helia
 * against (560-640 MB/s there). It does not fsync, although a fetch does before its file goes into
 * place: an fsync made the copy slower still (270-470 against 340-680 MB/s here), and a baseline that
 * leaves out work a fetch does is the stricter one.
 */
export async function rawTcpFileCopy(source: string, target: string): Promise<number> {
  const { size } = await fsp.stat(source);
  let written: Promise<void> | null = null;
  const server = net.createServer((s) => (written = pipeline(s, createWriteStream(target))));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const started = performance.now();
    const client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
    await pipeline(createReadStream(source, { highWaterMark: MiB }), client);
    while (!written) await new Promise((r) => setImmediate(r));
    await written;
    return mbPerSecond(size, performance.now() - started);
  } finally {
    server.close();
    await fsp.rm(target, { force: true });
  }
}

/** (b) N bytes over one ordered, reliable data channel between two in-process peers. */
export async function rawDataChannel(totalBytes: number, messageBytes = 64 * 1024): Promise<number> {
  const a = new PeerConnection("bench-a", { iceServers: [] });
  const b = new PeerConnection("bench-b", { iceServers: [] });
  const log = (m: string) => process.stderr.write(`${m}\n`);
  // a candidate can come before its description; libdatachannel refuses it until the description is set
  const signal = (from: PeerConnection, to: PeerConnection) => {
    let described = false;
    const early: [string, string][] = [];
    from.onLocalDescription(
      guard(log, (sdp, type) => {
        to.setRemoteDescription(sdp, type);
        described = true;
        for (const [c, mid] of early.splice(0)) to.addRemoteCandidate(c, mid);
      }),
    );
    from.onLocalCandidate(guard(log, (c, mid) => (described ? to.addRemoteCandidate(c, mid) : early.push([c, mid]))));
  };
  signal(a, b);
  signal(b, a);
  let received = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const keep: unknown[] = []; // a data channel whose JS object is collected closes
  b.onDataChannel(
    guard(log, (dc) =>
      keep.push(dc) &&
      dc.onMessage(
        guard(log, (m) => {
          received += (m as Buffer).length;
          if (received >= totalBytes) done();
        }),
      ),
    ),
  );
  const dc = a.createDataChannel("bench");
  await new Promise<void>((r) => dc.onOpen(guard(log, () => r())));
  const block = randomBytes(messageBytes);
  const high = 1 * MiB;
  dc.setBufferedAmountLowThreshold(256 * 1024);
  let wake: (() => void) | null = null;
  dc.onBufferedAmountLow(guard(log, () => wake?.()));
  const started = performance.now();
  for (let sent = 0; sent < totalBytes; sent += messageBytes) {
    while (dc.bufferedAmount() > high) await new Promise<void>((r) => ((wake = r), setTimeout(r, 50)));
    dc.sendMessageBinary(sent + messageBytes <= totalBytes ? block : block.subarray(0, totalBytes - sent));
  }
  await finished;
  const ms = performance.now() - started;
  dc.close();
  a.close();
  b.close();
  keep.length = 0;
  return mbPerSecond(totalBytes, ms);
}

/** (c)/(d) N bytes as 1 MiB objects fetched with getObject over one peershare path. */
export async function bulkGetObjects(path: BulkPath, totalBytes: number, objectBytes = MiB): Promise<number> {
  const hub = new MemorySignalHub();
  const object = randomBytes(objectBytes);
  const make = async () => {
    const identity = Identity.generate();
    const self: BulkPeer = { id: identity.id, publicKey: identity.publicKey, host: "127.0.0.1", port: 0 };
    const node = await createBulkNode({
      identity,
      host: "127.0.0.1",
      port: 0,
      source: { getObject: async () => object },
      signaller: hub.signallerFor(self),
      forceWebRtc: path === "webrtc",
    });
    return { node, peer: { ...self, port: node.tcpPort ?? 0 } };
  };
  const server = await make();
  const client = await make();
  try {
    await client.node.client.pathTo(server.peer); // connection set-up is not part of the figure
    const ids = Array.from({ length: Math.ceil(totalBytes / objectBytes) }, () => randomBytes(32));
    const started = performance.now();
    const sizes = await mapLimit(ids, 16, async (id) => (await client.node.client.getObject(server.peer, id)).length);
    const ms = performance.now() - started;
    return mbPerSecond(sizes.reduce((n, s) => n + s, 0), ms);
  } finally {
    await Promise.all([client.node.close(), server.node.close()]);
  }
}

async function main(): Promise<void> {
  const mib = Number(process.argv[2] ?? 256);
  const total = mib * MiB;
  const row = (label: string, v: number) => process.stdout.write(`${label.padEnd(52)}${v.toFixed(0).padStart(8)} MB/s\n`);
  process.stdout.write(`Bulk transports on 127.0.0.1, ${mib} MiB each, one process\n`);
  row("(a) raw TCP, 1 MiB writes", await rawTcpCopy(total));
  row("(b) raw node-datachannel, 64 KiB messages, paced", await rawDataChannel(total, 64 * 1024));
  row("    raw node-datachannel, 256 KiB messages, paced", await rawDataChannel(total, 256 * 1024));
  row("(c) peershare TLS, 1 MiB objects, getObject", await bulkGetObjects("tls", total));
  row("(d) peershare WebRTC, 1 MiB objects, getObject", await bulkGetObjects("webrtc", total));
}

if (require.main === module) {
  runScript(main);
}
