// A network lab for integration tests: an "internet" and home or office networks behind routers,
// built from Linux network namespaces, veth pairs, bridges and iptables (run as root).
//
//                              ┌── public host "stun"  203.0.113.10   2001:db8::1:1
//   namespace "inet": bridge ──┼── public host …
//   core router 203.0.113.1    ├── router of cell 1: WAN 203.0.113.101  2001:db8::2:1
//   2001:db8::1                │     └─ LAN bridge ── hosts 192.168.1.10, …  (NAT)   2001:db8:1::10, … (IPv6)
//                              └── router of cell 2 …
//
// Every namespace is named `psn<pid>-<lab>-…` so parallel runs never meet, and nothing is added to
// the machine's own namespace: lab traffic never leaves the lab. The core routes the prefixes
// that are not NATed (a cell's IPv6 prefix 2001:db8:<cell>::/64; a routed IPv4 cell's 198.18.<cell>.0/24)
// to that cell's router; everything on the internet uses the core as default gateway.
//
// Usage:
//   const lab = await NetLab.create({ public: ["stun"], cells: { home: { nat: "eim", hosts: ["alice"] } } });
//   const alice = lab.host("alice");           // alice.ns, alice.ipv4, alice.publicIpv4, alice.wrap
//   await startNode(dir, [], [], undefined, alice.wrap);
//   lab.destroy();                              // also on exit, SIGINT and SIGTERM

import { ChildProcess, execFile, spawn, SpawnOptions } from "node:child_process";
import { deleteNamespaces, netnsProblem, NetnsScript, removeStaleNamespaces } from "./netns";
import { IptablesBackend, iptablesBackend, ipv4Rules, ipv6Rules, RouterPolicy, WAN } from "./netlab-rules";

const TAG = "psn";

/** One home or office network behind its own router. */
export interface CellSpec {
  /** Its hosts' names: unique in the lab, lower-case letters and digits, at most 12. */
  hosts: string[];
  /**
   * IPv4 mapping on the router: "eim" (MASQUERADE: endpoint-independent), "random-fully"
   * (MASQUERADE --random-fully: address-and-port-dependent), or "none" (the hosts get routed
   * public addresses from 198.18.<cell>.0/24). Default "eim".
   */
  nat?: RouterPolicy["nat"];
  /** The router drops unsolicited inbound traffic, IPv4 and IPv6. Default true. */
  firewall?: boolean;
  /** The router drops all UDP (only TCP gets through). Default false. */
  blockUdp?: boolean;
  /** The hosts have IPv4. Default true. */
  ipv4?: boolean;
  /** The hosts have global IPv6 addresses from 2001:db8:<cell>::/64 (never NATed). Default false. */
  ipv6?: boolean;
}

export interface NetLabSpec {
  /** Hosts straight on the internet, with public IPv4 and IPv6 addresses and no firewall. */
  public?: string[];
  /** Networks behind routers, by name (lower-case letters and digits, at most 12). */
  cells?: Record<string, CellSpec>;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A machine in the lab: a namespace with one interface, eth0. */
export interface LabHost {
  name: string;
  ns: string;
  /** The cell it sits in; undefined for a public host. */
  cell?: string;
  /** Its own IPv4 address (a private one behind NAT), if it has IPv4. */
  ipv4?: string;
  /** Its global IPv6 address, if it has IPv6. */
  ipv6?: string;
  /** The IPv4 address the internet sees its traffic come from: its router's WAN address behind NAT. */
  publicIpv4?: string;
  /** A command prefix that runs a program inside its namespace (for startNode's `wrap`). */
  wrap: string[];
  /** Starts a program inside its namespace; the lab kills it on destroy(). */
  spawn(command: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** Runs a program inside its namespace to its end (killed after timeoutMs). */
  exec(command: string, args: string[], timeoutMs?: number): Promise<ExecResult>;
}

export interface LabRouter {
  cell: string;
  ns: string;
  wanIpv4: string;
  wanIpv6: string;
  policy: RouterPolicy;
}

const NAME = /^[a-z][a-z0-9]{0,11}$/;
const MAX_PUBLIC = 80;
const MAX_CELLS = 120;
const MAX_HOSTS_PER_CELL = 100;

// ---- the address plan -------------------------------------------------------

const INTERNET_V4 = "203.0.113";
const CORE_V4 = `${INTERNET_V4}.1`;
const CORE_V6 = "2001:db8::1";
const publicV4 = (i: number) => `${INTERNET_V4}.${10 + i}`;
const publicV6 = (i: number) => `2001:db8::1:${(i + 1).toString(16)}`;
const wanV4 = (cell: number) => `${INTERNET_V4}.${101 + cell}`;
const wanV6 = (cell: number) => `2001:db8::2:${(cell + 1).toString(16)}`;
/** A cell's IPv4 LAN: private behind NAT, routed public space otherwise. */
const lanV4Net = (cell: number, nat: boolean) => (nat ? `192.168.${cell + 1}` : `198.18.${cell + 1}`);
const lanV6Net = (cell: number) => `2001:db8:${(cell + 1).toString(16)}:`;

let labsMade = 0;
const live = new Set<NetLab>();

export class NetLab {
  private readonly hosts = new Map<string, LabHost>();
  private readonly routers = new Map<string, LabRouter>();
  private readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private destroyed = false;

  private constructor(
    readonly prefix: string,
    readonly iptables: IptablesBackend,
  ) {}

  /** Why a lab cannot be built here (not root, no `ip`, no working iptables), or null. */
  static problem(): string | null {
    const probe = `${TAG}${process.pid}-probe`;
    const netns = netnsProblem(probe);
    if (netns) return netns;
    const backend = iptablesBackend(probe);
    return typeof backend === "string" ? backend : null;
  }

  /** Removes the labs of processes that died without cleaning up (SIGKILL): create() does it first. */
  static removeStale(): void {
    removeStaleNamespaces(TAG);
  }

  /** Builds the lab; on any failure removes what it had built and throws. */
  static async create(spec: NetLabSpec): Promise<NetLab> {
    validate(spec);
    const backend = iptablesBackend(`${TAG}${process.pid}-probe`);
    if (typeof backend === "string") throw new Error(backend);
    NetLab.removeStale();
    const lab = new NetLab(`${TAG}${process.pid}-${labsMade++}-`, backend);
    track(lab);
    try {
      lab.build(spec);
    } catch (err) {
      lab.destroy();
      throw err;
    }
    return lab;
  }

  /** The internet's core router: its namespace holds the internet bridge. */
  get internet(): { ns: string; ipv4: string; ipv6: string } {
    return { ns: this.prefix + "inet", ipv4: CORE_V4, ipv6: CORE_V6 };
  }

  host(name: string): LabHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name} in the lab (${[...this.hosts.keys()].join(", ")})`);
    return h;
  }

  router(cell: string): LabRouter {
    const r = this.routers.get(cell);
    if (!r) throw new Error(`no cell ${cell} in the lab`);
    return r;
  }

  /** Kills every process in the lab's namespaces and deletes them. Safe to call twice. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    deleteNamespaces(this.namespaces);
    untrackIfIdle();
  }

  // ---- building ---------------------------------------------------------------

  private build(spec: NetLabSpec): void {
    const script = new NetnsScript();
    const inet = this.namespace(script, "inet");
    script
      .ip(inet, "link", "add", "inetbr", "type", "bridge")
      .ip(inet, "link", "set", "inetbr", "up")
      .ip(inet, "addr", "add", `${CORE_V4}/24`, "dev", "inetbr")
      .ip(inet, "addr", "add", `${CORE_V6}/64`, "dev", "inetbr", "nodad")
      .sysctl(inet, { "net.ipv4.ip_forward": 1, "net.ipv6.conf.all.forwarding": 1, "net.ipv4.conf.all.send_redirects": 0, "net.ipv4.conf.default.send_redirects": 0 });
    (spec.public ?? []).forEach((name, i) => this.addPublicHost(script, name, i));
    Object.entries(spec.cells ?? {}).forEach(([name, cell], i) => this.addCell(script, name, cell, i));
    script.run();
  }

  /** A new namespace with loopback up and IPv6 duplicate address detection off (addresses work at once). */
  private namespace(script: NetnsScript, suffix: string): string {
    const ns = this.prefix + suffix;
    this.namespaces.push(ns); // before it exists: destroy() after a failed build finds it
    script
      .namespace(ns)
      .sysctl(ns, { "net.ipv6.conf.all.accept_dad": 0, "net.ipv6.conf.default.accept_dad": 0 })
      .ip(ns, "link", "set", "lo", "up");
    return ns;
  }

  /** A veth pair from `a` (named aName, a port of bridge `master` there) to `b` (named eth0 or `bName`), both up. */
  private link(script: NetnsScript, a: string, aName: string, master: string, b: string, bName: string): void {
    script
      .veth(a, aName, b, bName)
      .ip(a, "link", "set", aName, "master", master)
      .ip(a, "link", "set", aName, "up")
      .ip(b, "link", "set", bName, "up");
  }

  private addPublicHost(script: NetnsScript, name: string, i: number): void {
    const ns = this.namespace(script, `h-${name}`);
    this.link(script, this.internet.ns, `p${i}`, "inetbr", ns, "eth0");
    configureAddresses(script, ns, "eth0", publicV4(i), CORE_V4, publicV6(i), CORE_V6);
    this.addHost({ name, ns, ipv4: publicV4(i), ipv6: publicV6(i), publicIpv4: publicV4(i) });
  }

  private addCell(script: NetnsScript, name: string, spec: CellSpec, index: number): void {
    const policy: RouterPolicy = { nat: spec.nat ?? "eim", firewall: spec.firewall ?? true, blockUdp: spec.blockUdp ?? false };
    const hasV4 = spec.ipv4 ?? true;
    const hasV6 = spec.ipv6 ?? false;
    const router = this.namespace(script, `r-${name}`);
    const inet = this.internet.ns;
    this.link(script, inet, `c${index}`, "inetbr", router, WAN);
    configureAddresses(script, router, WAN, wanV4(index), CORE_V4, wanV6(index), CORE_V6);
    script
      .sysctl(router, { "net.ipv4.ip_forward": 1, "net.ipv6.conf.all.forwarding": 1 })
      .ip(router, "link", "add", "lan", "type", "bridge")
      .ip(router, "link", "set", "lan", "up");
    const v4Net = lanV4Net(index, policy.nat !== "none");
    const v6Net = lanV6Net(index);
    if (hasV4) script.ip(router, "addr", "add", `${v4Net}.1/24`, "dev", "lan");
    if (hasV6) script.ip(router, "addr", "add", `${v6Net}:1/64`, "dev", "lan", "nodad");
    // the core routes what is not NATed to this router
    if (hasV4 && policy.nat === "none") script.ip(inet, "route", "add", `${v4Net}.0/24`, "via", wanV4(index));
    if (hasV6) script.ip(inet, "route", "add", `${v6Net}:/64`, "via", wanV6(index));
    script.restore(router, this.iptables.restore4, ipv4Rules(policy)).restore(router, this.iptables.restore6, ipv6Rules(policy));
    this.routers.set(name, { cell: name, ns: router, wanIpv4: wanV4(index), wanIpv6: wanV6(index), policy });

    spec.hosts.forEach((hostName, j) => {
      const ns = this.namespace(script, `h-${hostName}`);
      this.link(script, router, `l${j}`, "lan", ns, "eth0");
      const ipv4 = hasV4 ? `${v4Net}.${10 + j}` : undefined;
      const ipv6 = hasV6 ? `${v6Net}:${(0x10 + j).toString(16)}` : undefined;
      configureAddresses(script, ns, "eth0", ipv4, `${v4Net}.1`, ipv6, `${v6Net}:1`);
      this.addHost({ name: hostName, ns, cell: name, ipv4, ipv6, publicIpv4: ipv4 && (policy.nat === "none" ? ipv4 : wanV4(index)) });
    });
  }

  private addHost(h: Omit<LabHost, "wrap" | "spawn" | "exec">): void {
    const wrap = ["ip", "netns", "exec", h.ns];
    const spawnIn = (command: string, args: string[], options: SpawnOptions = {}) => {
      const child = spawn(wrap[0], [...wrap.slice(1), command, ...args], { stdio: ["ignore", "pipe", "pipe"], ...options });
      this.children.add(child);
      child.once("exit", () => this.children.delete(child));
      return child;
    };
    const exec = (command: string, args: string[], timeoutMs = 10_000) =>
      new Promise<ExecResult>((resolve) => {
        execFile(wrap[0], [...wrap.slice(1), command, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
          resolve({ code, stdout, stderr });
        });
      });
    this.hosts.set(h.name, { ...h, wrap, spawn: spawnIn, exec });
  }
}

// ---- helpers ------------------------------------------------------------------

function validate(spec: NetLabSpec): void {
  const cells = Object.entries(spec.cells ?? {});
  const hostNames = [...(spec.public ?? []), ...cells.flatMap(([, c]) => c.hosts)];
  for (const n of [...hostNames, ...cells.map(([n]) => n)]) if (!NAME.test(n)) throw new Error(`lab name ${JSON.stringify(n)}: lower-case letters and digits, at most 12`);
  const seen = new Set<string>();
  for (const n of hostNames) {
    if (seen.has(n)) throw new Error(`host ${n} named twice`);
    seen.add(n);
  }
  if ((spec.public ?? []).length > MAX_PUBLIC) throw new Error(`at most ${MAX_PUBLIC} public hosts`);
  if (cells.length > MAX_CELLS) throw new Error(`at most ${MAX_CELLS} cells`);
  for (const [name, c] of cells) {
    if (c.hosts.length > MAX_HOSTS_PER_CELL) throw new Error(`cell ${name}: at most ${MAX_HOSTS_PER_CELL} hosts`);
    if (c.ipv4 === false && !c.ipv6) throw new Error(`cell ${name} has neither IPv4 nor IPv6`);
  }
}

/** Addresses on `dev` (/24 and /64; none for a family the host lacks) and default routes through `gw4` / `gw6`. */
function configureAddresses(script: NetnsScript, ns: string, dev: string, ipv4: string | undefined, gw4: string, ipv6: string | undefined, gw6: string): void {
  if (ipv4) script.ip(ns, "addr", "add", `${ipv4}/24`, "dev", dev).ip(ns, "route", "add", "default", "via", gw4);
  if (ipv6) script.ip(ns, "addr", "add", `${ipv6}/64`, "dev", dev, "nodad").ip(ns, "route", "add", "default", "via", gw6);
}

// ---- cleanup when the process ends without destroy() --------------------------

function destroyAll(): void {
  for (const lab of [...live]) lab.destroy();
}

function onSignal(signal: NodeJS.Signals): void {
  destroyAll();
  process.kill(process.pid, signal); // the listeners are gone now: the default action runs
}

function track(lab: NetLab): void {
  if (live.size === 0) {
    process.on("exit", destroyAll);
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  live.add(lab);
}

function untrackIfIdle(): void {
  if (live.size > 0) return;
  process.off("exit", destroyAll);
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
}
