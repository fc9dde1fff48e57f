// Debian's coturn (`turnserver`) as a STUN/TURN server for tests: on a lab host, or on this
// machine's loopback. Started from the command line alone (no config file, no CLI, no TLS), with
// its user database in a temp dir and its log kept in memory for failure messages.

import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as dgram from "node:dgram";
import * as path from "node:path";
import { exited, tempDir, waitFor } from "./cli";
import type { LabHost } from "./netlab";

export interface TurnServerOptions {
  /** The addresses to listen on (and relay from). Default: the host's IPv4 and IPv6, or 127.0.0.1. */
  addresses?: string[];
  /** Default 3478 on a lab host (a namespace of its own), a free port on loopback. */
  port?: number;
  /** The long-term credential TURN clients use. Default "peershare" / "peershare". */
  user?: string;
  password?: string;
  realm?: string;
  /** Log every session and allocation (turnserver -v), so a test can tell the server was used. */
  verbose?: boolean;
}

export interface TurnServer {
  port: number;
  addresses: string[];
  user: string;
  password: string;
  realm: string;
  /** What it logged (the last 64 KiB). */
  log(): string;
  stop(): Promise<void>;
}

/** Whether Debian's coturn is installed here. */
export function hasTurnServer(): boolean {
  try {
    execFileSync("turnserver", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Starts turnserver on a lab host, or on loopback without one; resolves once its UDP port is open. */
export async function startTurnServer(host?: LabHost, options: TurnServerOptions = {}): Promise<TurnServer> {
  const addresses = options.addresses ?? (host ? [host.ipv4, host.ipv6].filter((a): a is string => !!a) : ["127.0.0.1"]);
  const port = options.port ?? (host ? 3478 : await freeUdpPort());
  const { user = "peershare", password = "peershare", realm = "peershare.test" } = options;
  const dir = tempDir("turn");
  const args = [
    "-n", "--no-cli", "--no-tls", "--no-dtls", "--fingerprint", "--no-software-attribute",
    "--listening-port", String(port),
    ...addresses.flatMap((a) => ["--listening-ip", a, "--relay-ip", a]),
    "--min-port", "49152", "--max-port", "49407",
    "--lt-cred-mech", "--user", `${user}:${password}`, "--realm", realm,
    "--db", path.join(dir, "turndb"), "--pidfile", path.join(dir, "turnserver.pid"),
    "--log-file", "stdout", "--simple-log",
    ...(options.verbose ? ["-v"] : []),
    ...(host ? [] : ["--allow-loopback-peers"]),
  ];
  const proc: ChildProcess = host ? host.spawn("turnserver", args) : spawn("turnserver", args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const keep = (d: Buffer) => (log = (log + d.toString()).slice(-65536));
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  const listening = async () => {
    if (proc.exitCode !== null) throw new Error(`turnserver exited: ${log}`);
    const ss = ["-H", "-uln", `sport = :${port}`];
    const out = host ? (await host.exec("ss", ss)).stdout : execFileSync("ss", ss, { encoding: "utf8" });
    return addresses.every((a) => out.includes(a.includes(":") ? `[${a}]:${port}` : `${a}:${port}`));
  };
  await waitFor("turnserver to listen", listening, 10_000, 50).catch((err: Error) => {
    proc.kill("SIGKILL");
    throw new Error(`${err.message}\n${log}`);
  });
  return {
    port,
    addresses,
    user,
    password,
    realm,
    log: () => log,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await exited(proc);
    },
  };
}

/** A UDP port free on loopback right now. */
async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
