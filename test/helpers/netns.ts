// Linux network namespaces for tests that need real network conditions (run as root, with
// iproute2): create, probe, list and delete them, and find those that a killed earlier run left.
// Each test names its namespaces `<tag><pid>-…`, so parallel runs never collide and a namespace
// whose pid is dead is known to be stale.

import { execFileSync } from "node:child_process";

/** Runs `ip` with these arguments; throws with ip's own error text. */
export function ip(...args: string[]): void {
  run("ip", args);
}

/** Runs a command and returns its stdout; throws with the command's stderr. */
export function run(command: string, args: string[], input?: string): string {
  try {
    return execFileSync(command, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`${command} ${args.join(" ")}: ${stderr || (err as Error).message}`);
  }
}

/** Runs a command inside a namespace and returns its stdout. */
export function runIn(ns: string, command: string, args: string[], input?: string): string {
  return run("ip", ["netns", "exec", ns, command, ...args], input);
}

export function listNamespaces(): string[] {
  try {
    return execFileSync("ip", ["netns", "list"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
      .split("\n")
      .map((l) => l.split(" ")[0])
      .filter(Boolean);
  } catch {
    return [];
  }
}

/** The pids of the processes inside a namespace (none when it does not exist). */
export function namespacePids(ns: string): number[] {
  try {
    return execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Kills what still runs inside the namespaces (deleting a namespace does not), then deletes them. */
export function deleteNamespaces(names: string[]): void {
  for (const ns of names) {
    for (const pid of namespacePids(ns)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  for (const ns of names) {
    try {
      execFileSync("ip", ["netns", "delete", ns], { stdio: "ignore" });
    } catch {
      // already gone
    }
  }
}

/** Why namespaces cannot be used here, or null: tries the real thing (a namespace with a bridge and a veth pair). */
export function netnsProblem(probe: string): string | null {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "creating network namespaces needs root";
  try {
    ip("netns", "add", probe);
    ip("-n", probe, "link", "add", "br-probe", "type", "bridge");
    ip("-n", probe, "link", "add", "va", "type", "veth", "peer", "name", "vb");
    return null;
  } catch (err) {
    return `cannot set up network namespaces (${(err as Error).message}); install iproute2 and run as root`;
  } finally {
    deleteNamespaces([probe]);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Deletes the namespaces named `<tag><pid>-…` whose pid is dead: left by a run killed before its cleanup. */
export function removeStaleNamespaces(tag: string): void {
  const pattern = new RegExp(`^${tag}(\\d+)-`);
  const stale = listNamespaces().filter((ns) => {
    const m = pattern.exec(ns);
    return m !== null && Number(m[1]) !== process.pid && !isAlive(Number(m[1]));
  });
  deleteNamespaces(stale);
}

/**
 * A set of namespaces and their wiring, built by one shell script: a lab takes hundreds of `ip`
 * commands, and a process for each (spawned from Node, ~10 ms apiece) would take seconds. The
 * script runs in phases, so commands may be added in any order across namespaces: namespaces,
 * then sysctls, then veth pairs, then each namespace's own `ip` commands (one `ip -batch` per
 * namespace, in the order added), then packet filter rule sets.
 */
export class NetnsScript {
  private readonly namespaces: string[] = [];
  private readonly veths: string[] = [];
  private readonly sysctls = new Map<string, string[]>();
  private readonly ipLines = new Map<string, string[]>();
  private readonly restores: string[] = [];

  namespace(ns: string): this {
    this.namespaces.push(ns);
    return this;
  }

  /** A veth pair: `aName` in namespace `a`, `bName` in namespace `b`. */
  veth(a: string, aName: string, b: string, bName: string): this {
    this.veths.push(`link add ${aName} netns ${a} type veth peer name ${bName} netns ${b}`);
    return this;
  }

  /** Sets sysctls inside a namespace (/proc/sys/net belongs to whoever opens it). */
  sysctl(ns: string, values: Record<string, number>): this {
    const list = this.sysctls.get(ns) ?? [];
    for (const [key, v] of Object.entries(values)) list.push(`echo ${v} > /proc/sys/${key.replace(/\./g, "/")}`);
    this.sysctls.set(ns, list);
    return this;
  }

  /** `ip <args>` inside a namespace (no global options: `ip -batch` takes none per line). */
  ip(ns: string, ...args: string[]): this {
    const list = this.ipLines.get(ns) ?? [];
    list.push(args.join(" "));
    this.ipLines.set(ns, list);
    return this;
  }

  /** Loads a rule set with `restoreCommand` (iptables-nft-restore, …) inside a namespace. */
  restore(ns: string, restoreCommand: string, rules: string): this {
    this.restores.push(checked(`printf '%s' ${quote(rules)} | ip netns exec ${ns} ${restoreCommand}`, `${restoreCommand} in ${ns}`));
    return this;
  }

  /** Runs the script; throws with the failing command's error. */
  run(): void {
    // the here-document's lines follow the whole command line, `|| { … }` included
    const batch = (args: string, lines: string[], what: string) => (lines.length ? [`${checked(`ip ${args} -batch - <<'EOF'`, what)}\n${lines.join("\n")}\nEOF`] : []);
    const script = [
      ...batch("", this.namespaces.map((ns) => `netns add ${ns}`), "creating namespaces"),
      // before the veths: a new interface takes its settings from the namespace's defaults
      ...[...this.sysctls].map(([ns, list]) => checked(`ip netns exec ${ns} sh -c ${quote(list.join(" && "))}`, `sysctls in ${ns}`)),
      ...batch("", this.veths, "creating veth pairs"),
      ...[...this.ipLines].flatMap(([ns, lines]) => batch(`-n ${ns}`, lines, `ip commands in ${ns}`)),
      ...this.restores,
    ];
    run("sh", ["-c", script.join("\n")]);
  }
}

/** A shell command that, failing, stops the script and says what failed. */
function checked(command: string, what: string): string {
  return `${command} || { echo ${quote(`failed: ${what}`)} >&2; exit 1; }`;
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
