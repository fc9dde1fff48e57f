// A socket agent: a small program a test starts inside a lab namespace (see socket-agent.ts) to
// open plain UDP and TCP sockets there on command, send, and report what arrives and from where.
//
// Commands come as JSON lines on stdin: {id, op, …}; each gets one JSON line back, {id, …} or
// {id, failed} when the command itself failed. What arrives on its own is reported as {event: "udp" | "tcp", sock, from, port, text}.
// The agent exits when stdin closes (its test went away).

import * as dgram from "node:dgram";
import * as net from "node:net";
import * as readline from "node:readline";
import { stunBinding } from "../../node-host/nat/stun-client";

type Command = { id: number; op: string } & Record<string, unknown>;

const udpSockets = new Map<number, dgram.Socket>();
const tcpServers = new Map<number, net.Server>();
let nextSock = 1;

function emit(message: object): void {
  process.stdout.write(JSON.stringify(message) + "\n");
}

function udpBind(c: Command): Promise<object> {
  const family = c.family === 6 ? 6 : 4;
  const socket = dgram.createSocket(family === 6 ? { type: "udp6", ipv6Only: true } : { type: "udp4" });
  const sock = nextSock++;
  socket.on("message", (msg, rinfo) => emit({ event: "udp", sock, from: rinfo.address, port: rinfo.port, text: msg.toString("latin1") }));
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(Number(c.port ?? 0), family === 6 ? "::" : "0.0.0.0", () => {
      socket.off("error", reject);
      socket.on("error", () => undefined); // ICMP errors reported on later sends are expected here
      udpSockets.set(sock, socket);
      resolve({ sock, port: socket.address().port });
    });
  });
}

function udpSend(c: Command): Promise<object> {
  const socket = udpSockets.get(Number(c.sock));
  if (!socket) throw new Error(`no UDP socket ${String(c.sock)}`);
  return new Promise((resolve) => socket.send(Buffer.from(String(c.text), "latin1"), Number(c.port), String(c.host), (err) => resolve(err ? { sent: false, error: err.message } : { sent: true })));
}

function tcpListen(c: Command): Promise<object> {
  const server = net.createServer((conn) => {
    emit({ event: "tcp", sock, from: conn.remoteAddress, port: conn.remotePort, text: "" });
    conn.on("error", () => undefined);
    conn.end(String(c.greeting ?? "hello"));
  });
  const sock = nextSock++;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: Number(c.port ?? 0), host: c.family === 6 ? "::" : "0.0.0.0", ipv6Only: c.family === 6 }, () => {
      tcpServers.set(sock, server);
      resolve({ sock, port: (server.address() as net.AddressInfo).port });
    });
  });
}

/** Connects, reads until the server closes, and reports what it said (or why it failed). */
function tcpConnect(c: Command): Promise<object> {
  return new Promise((resolve) => {
    const conn = net.connect({ host: String(c.host), port: Number(c.port) });
    let text = "";
    const timer = setTimeout(() => finish({ connected: false, error: "timed out" }), Number(c.timeoutMs ?? 2000));
    const finish = (result: object) => {
      clearTimeout(timer);
      conn.destroy();
      resolve(result);
    };
    conn.on("data", (d) => (text += d.toString("latin1")));
    conn.on("end", () => finish({ connected: true, text }));
    conn.on("error", (err) => finish({ connected: false, error: err.message }));
  });
}

async function stun(c: Command): Promise<object> {
  const socket = udpSockets.get(Number(c.sock));
  if (!socket) throw new Error(`no UDP socket ${String(c.sock)}`);
  return { mapped: await stunBinding(socket, { address: String(c.host), port: Number(c.port) }, { timeoutMs: Number(c.timeoutMs ?? 3000) }) };
}

const ping = async () => ({});
const OPS: Record<string, (c: Command) => Promise<object>> = { ping, udpBind, udpSend, tcpListen, tcpConnect, stun };

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  let c: Command;
  try {
    c = JSON.parse(line) as Command;
  } catch {
    return;
  }
  const op = OPS[c.op];
  Promise.resolve()
    .then(() => (op ? op(c) : Promise.reject(new Error(`unknown op ${c.op}`))))
    .then(
      (result) => emit({ id: c.id, ...result }),
      (err: Error) => emit({ id: c.id, failed: err.message }),
    );
}).on("close", () => process.exit(0));
