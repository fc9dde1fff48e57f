// Reading a secret from the user: typed on the terminal without echo, or, when stdin is not a
// terminal (a script, a pipe), its next line.

import * as readline from "node:readline";
import { UsageError } from "./args";

/** One line of stdin (a pipe or file), without its line break. */
async function nextLine(): Promise<string> {
  const lines = readline.createInterface({ input: process.stdin, terminal: false });
  try {
    for await (const line of lines) return line;
    throw new UsageError("expected the passphrase on stdin, and stdin ended");
  } finally {
    lines.close();
  }
}

/** What the user types after `question` on the terminal, not echoed; Ctrl-C or Ctrl-D ends the command. */
function typed(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    let text = "";
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    const done = (err: Error | null) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done(null);
        if (ch === "\u0003" || ch === "\u0004") return done(new UsageError("cancelled"));
        if (ch === "\u007f" || ch === "\b") text = text.slice(0, -1);
        else if (ch >= " ") text += ch;
      }
    };
    stdin.on("data", onData);
  });
}

/** A secret from the terminal (asked twice when `confirm`, which must match), else stdin's next line. */
export async function readSecret(question: string, confirm = false): Promise<string> {
  if (!process.stdin.isTTY) return nextLine();
  const first = await typed(question);
  if (confirm && (await typed("again: ")) !== first) throw new UsageError("the two passphrases differ; nothing was changed");
  return first;
}
