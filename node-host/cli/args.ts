// The command line of every verb: the options the `peershare` command knows (one set for all
// verbs, so a misspelt flag is an error everywhere), and the checks verbs make of their arguments.

import * as os from "node:os";
import * as path from "node:path";
import { parseArgs, ParseArgsConfig } from "node:util";

/** A mistake in the command line: reported with a pointer to --help, exit status 2. */
export class UsageError extends Error {}

const OPTIONS = {
  "data-dir": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  port: { type: "string" },
  host: { type: "string" },
  bootstrap: { type: "string", multiple: true },
  stdio: { type: "boolean" },
  n: { type: "string", short: "n" },
  version: { type: "boolean" },
  public: { type: "boolean" },
  out: { type: "string", short: "o" },
  replication: { type: "string" },
  team: { type: "string", multiple: true },
  force: { type: "boolean" },
  cache: { type: "boolean" },
  trace: { type: "boolean" },
  role: { type: "string" },
  expires: { type: "string" },
  for: { type: "string" },
  "no-hints": { type: "boolean" },
  "public-address": { type: "string" },
  once: { type: "boolean" },
  node: { type: "boolean" },
} satisfies ParseArgsConfig["options"];

export type Flags = ReturnType<typeof parse>["values"];

/** Splits a command line into flags and positional arguments. */
export function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The node's data directory: --data-dir, else $PEERSHARE_DATA_DIR, else ~/.peershare. */
export function dataDirOf(flags: Flags): string {
  return path.resolve(flags["data-dir"] ?? process.env.PEERSHARE_DATA_DIR ?? path.join(os.homedir(), ".peershare"));
}

/** A whole-number flag within [min, max]; undefined when not given. */
export function intFlag(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  return n;
}

/** Exactly `n` positional arguments, else a usage error naming `usage`. */
export function needArgs(args: string[], n: number, usage: string): void {
  if (args.length !== n) throw new UsageError(`expected ${usage}`);
}
