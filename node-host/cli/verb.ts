// What a verb of the `peershare` command is (its help and what it runs), and what verbs share to
// run: a call to the node running for --data-dir, and printing a result as text or --json.

import { Api, ApiMethod } from "../rpc/api-types";
import { connectLocal } from "../rpc/local-socket";
import { dataDirOf, Flags, UsageError } from "./args";

export type VerbRun = (flags: Flags, args: string[]) => Promise<void>;

export interface Verb {
  /** What the user types after `peershare`. */
  name: string;
  /** Its lines in `peershare --help`: [usage, what it does]; none for a verb left out there. */
  summary: [usage: string, what: string][];
  /** `peershare NAME --help`. */
  help: string;
  /** Runs it with the positional arguments after its name. */
  run: VerbRun;
}

/** Verbs under one heading of `peershare --help`. */
export interface VerbGroup {
  title: string;
  verbs: Verb[];
}

/** A verb with subcommands (`peershare dht lookup …`): runs the one named first, else a usage error `expected`. */
export function subcommands(table: Record<string, VerbRun>, expected: string): VerbRun {
  return (flags, args) => {
    const [sub, ...rest] = args;
    if (sub === undefined || !Object.hasOwn(table, sub)) throw new UsageError(expected);
    return table[sub](flags, rest);
  };
}

/** Calls one method of the node running for --data-dir. */
export async function withNode<M extends ApiMethod>(flags: Flags, method: M, params: Api[M][0]): Promise<Api[M][1]> {
  const client = await connectLocal(dataDirOf(flags));
  try {
    return await client.call(method, params);
  } finally {
    client.close();
  }
}

/** Prints `data` as JSON with --json, else `text()`. */
export function print(flags: Flags, data: unknown, text: () => string): void {
  process.stdout.write((flags.json ? JSON.stringify(data, null, 2) : text()) + "\n");
}
