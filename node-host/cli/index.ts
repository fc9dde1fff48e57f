// The `peershare` command. `start` (or `serve`) runs a node; every other verb talks to the node
// running for --data-dir over its authenticated local socket, through the same JSON-RPC API that
// the VS Code extension uses. Each group of verbs is a module of its own (a verb: its help, its
// line in the main help and what it runs); a new verb is a new entry in one of them, or a new
// group in GROUPS.

import { VERSION } from "../node";
import { parse, UsageError } from "./args";
import { configVerbs } from "./config-verbs";
import { dhtVerbs } from "./dht-verbs";
import { fileVerbs } from "./file-verbs";
import { keyVerbs } from "./key-verbs";
import { nodeVerbs } from "./node-verbs";
import { teamVerbs } from "./team-verbs";
import { Verb, VerbGroup } from "./verb";

/** The verbs, under the headings of `peershare --help`, in its order. */
const GROUPS: VerbGroup[] = [nodeVerbs, fileVerbs, dhtVerbs, teamVerbs, keyVerbs, configVerbs];

const VERBS = new Map<string, Verb>(GROUPS.flatMap((g) => g.verbs.map((v) => [v.name, v] as const)));

const COMMON = `Common options:
  --data-dir DIR   the node's data directory (default: $PEERSHARE_DATA_DIR or ~/.peershare)
  --json           machine-readable output
  -h, --help       help for a command`;

/** `peershare --help`: every verb's summary lines, under its group's heading. */
function mainHelp(): string {
  const groups = GROUPS.map((g) => [`${g.title}:`, ...g.verbs.flatMap((v) => v.summary.map(([usage, what]) => `  ${usage.padEnd(21)} ${what}`))].join("\n"));
  return `peershare ${VERSION}: peer-to-peer file sharing for teams

Usage: peershare <command> [options]

${groups.join("\n")}

A KEY is 64 hex digits, or any other text, which is hashed with SHA-256.

${COMMON}

Run "peershare <command> --help" for more.`;
}

/** The help of verb `name`, else the main help. */
function helpOf(name: string | undefined): string {
  return (name !== undefined && VERBS.get(name)?.help) || mainHelp();
}

async function run(argv: string[]): Promise<void> {
  const { values: flags, positionals } = parse(argv);
  const [command, ...args] = positionals;
  if (flags.version) return void process.stdout.write(`${VERSION}\n`);
  if (!command || command === "help") return void process.stdout.write(helpOf(args[0]) + "\n");
  if (flags.help) return void process.stdout.write(helpOf(command) + "\n");
  const verb = VERBS.get(command);
  if (!verb) throw new UsageError(`unknown command "${command}"`);
  return verb.run(flags, args);
}

export async function main(argv = process.argv.slice(2)): Promise<number> {
  try {
    await run(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0; // a verb may set a failing status
  } catch (err) {
    const e = err as Error & { code?: number };
    if (err instanceof UsageError) {
      process.stderr.write(`peershare: ${e.message}\nRun "peershare --help" for usage.\n`);
      return 2;
    }
    process.stderr.write(`peershare: ${e.message}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main().then((code) => process.exit(code));
}
