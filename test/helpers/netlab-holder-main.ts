// A process that builds a small lab, starts a long-running program inside it and never destroys
// it: netlab.test.ts ends it in different ways (exit, a signal, SIGKILL) to see what is cleaned up.
// Prints {"prefix", "sleeper"} once the lab is up; exits when stdin says "exit".

import * as readline from "node:readline";
import { NetLab } from "./netlab";

async function main(): Promise<void> {
  const lab = await NetLab.create({ cells: { home: { hosts: ["h"] } } });
  const sleeper = lab.host("h").spawn("sleep", ["600"], { stdio: "ignore" });
  process.stdout.write(JSON.stringify({ prefix: lab.prefix, sleeper: sleeper.pid }) + "\n");
  readline.createInterface({ input: process.stdin }).on("line", (line) => {
    if (line === "exit") process.exit(0);
  });
}

void main();
