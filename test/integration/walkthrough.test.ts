// The README's walkthrough ("Using the node"), run as printed: every line of its first sh block,
// through bash, on a machine with no desktop keyring and no passphrase (no D-Bus session, no
// PEERSHARE_PASSPHRASE), with a fresh HOME, inside a network namespace of its own (netlab.ts), so
// that its fixed ports and LAN announcements meet nothing else. What a reader fills in is filled in
// the same way: `npx peershare` is the checkout's bin/peershare.js (a `peershare` on PATH), KEY is
// what `dht put` printed, 'peershare://…' the link the last `share` printed, report.pdf a file and
// dataset a folder in the current directory; each `start` runs in the background, as in a terminal of its own.
//
// Needs root, iproute2 and iptables: skipped without them, a failure when CI=true.

import { test } from "node:test";
import assert from "node:assert/strict";
import { ChildProcess, execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { BIN, exited, tempDir, waitFor } from "../helpers/cli";
import { namespacePids } from "../helpers/netns";
import { LabHost, NetLab } from "../helpers/netlab";

const README = path.join(__dirname, "..", "..", "..", "README.md");

/** The lines of the first sh block under "## Using the node". */
function walkthrough(): string[] {
  const text = fs.readFileSync(README, "utf8");
  const section = text.slice(text.indexOf("## Using the node"));
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  assert.ok(block, "the README has a walkthrough");
  return block[1].split("\n").filter((l) => l.trim() !== "");
}

/** A line as the reader types it: the comment gone, the placeholders filled in. */
function asTyped(line: string, filled: { key?: string; link?: string }): string {
  let cmd = line.replace(/\s+#\s.*$/, "").replace(/^npx peershare /, "peershare ");
  if (cmd.includes("'peershare://…'")) cmd = cmd.replaceAll("'peershare://…'", `'${must(filled.link, "a link from share")}'`);
  if (/\bKEY\b/.test(cmd)) cmd = cmd.replace(/\bKEY\b/g, must(filled.key, "a KEY from dht put"));
  return cmd;
}

function must(v: string | undefined, what: string): string {
  assert.ok(v, `the walkthrough uses ${what} before it prints one`);
  return v;
}

function bash(host: LabHost, cmd: string, env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(host.wrap[0], [...host.wrap.slice(1), "bash", "-c", cmd], { env, cwd, timeout: 90_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const problem = NetLab.problem();

if (problem) {
  if (process.env.CI === "true") test("the README walkthrough", () => assert.fail(`cannot build the network lab: ${problem}`));
  else test("the README walkthrough", { skip: `needs root, ip netns and iptables: ${problem}` }, () => undefined);
} else {
  test("the README walkthrough runs as printed, with no keyring and no passphrase", { timeout: 300_000 }, async (t) => {
    const lab = await NetLab.create({ public: ["walk"] });
    const host = lab.host("walk");
    const home = tempDir("walkthrough-home");
    const bin = path.join(home, ".bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, "peershare"), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, { mode: 0o755 });
    const env = { PATH: `${bin}:${process.env.PATH}`, HOME: home, LANG: "C.UTF-8" };
    const report = path.join(home, "report.pdf");
    fs.writeFileSync(report, `%PDF-1.4\n${Array.from({ length: 4000 }, (_, i) => `line ${i} of the quarterly report`).join("\n")}\n`);
    const dataset = { "runs.csv": "run,score\n1,0.5\n2,0.75\n", "notes/README.txt": "how the runs were made\n", "notes/raw/0001.bin": "\u0000\u0001binary".repeat(5000) };
    for (const [rel, body] of Object.entries(dataset)) {
      fs.mkdirSync(path.dirname(path.join(home, "dataset", rel)), { recursive: true });
      fs.writeFileSync(path.join(home, "dataset", rel), body);
    }
    const starts: { proc: ChildProcess; log: () => string }[] = [];
    const filled: { key?: string; link?: string } = {};
    try {
      for (const line of walkthrough()) {
        const cmd = asTyped(line, filled);
        if (/^peershare start /.test(cmd)) {
          const proc = spawn(host.wrap[0], [...host.wrap.slice(1), "bash", "-c", cmd], { env, cwd: home, stdio: ["ignore", "pipe", "pipe"] });
          let log = "";
          proc.stdout!.on("data", (d) => (log += d));
          proc.stderr!.on("data", (d) => (log += d));
          starts.push({ proc, log: () => log });
          await waitFor(`"${cmd}" to listen`, async () => (proc.exitCode !== null ? assert.fail(`${cmd} exited: ${log}`) : log.includes("Ctrl-C to stop")), 30_000, 100);
          continue;
        }
        const r = await bash(host, cmd, env, home);
        t.diagnostic(`$ ${cmd.length > 150 ? cmd.slice(0, 147) + "..." : cmd} → ${r.code}`);
        assert.equal(r.code, 0, `"${cmd}" failed:\n${r.stdout}\n${r.stderr}`);
        if (/ dht put /.test(cmd)) filled.key = r.stdout.trim().split(/\s/)[0];
        if (/^peershare share /.test(cmd)) filled.link = /peershare:\/\/\S+/.exec(r.stdout)?.[0];
        if (/ cat /.test(cmd)) assert.equal(r.stdout, fs.readFileSync(report, "utf8"), "cat | less prints the file");
        if (/^peershare ls 'peershare:/.test(cmd)) assert.match(r.stdout, /runs\.csv/, "ls LINK lists the folder");
        if (/ keys show /.test(cmd)) assert.match(r.stdout, /without a passphrase: readable by this user only/);
      }
      // what the reader then has: the keys notice once, the files, and nothing left by the one-off fetch
      assert.match(starts[0].log(), /no passphrase was given and no OS keychain answers.*peershare keys protect/);
      assert.equal((fs.statSync(path.join(home, ".peershare-a", "keys.enc")).mode & 0o777).toString(8), "600");
      for (const name of ["report.pdf", "copy.pdf"]) assert.ok(fs.readFileSync(path.join(home, "Downloads", name)).equals(fs.readFileSync(report)), name);
      for (const [rel, body] of Object.entries(dataset)) assert.equal(fs.readFileSync(path.join(home, "Downloads", "dataset", rel), "utf8"), body, `Downloads/dataset/${rel}`);
      assert.equal(fs.existsSync(path.join(home, ".peershare-c", "keys.enc")), false, "the one-off fetch used a throwaway identity");
      await waitFor("the node stopped by the walkthrough to exit", async () => starts[1].proc.exitCode !== null, 20_000, 100);
    } finally {
      for (const s of starts) s.proc.kill("SIGTERM");
      for (const s of starts) await exited(s.proc);
      assert.deepEqual(namespacePids(host.ns), [], "no process left running");
      lab.destroy();
    }
  });
}
