// Starts a standalone peershare node with the CLI (a second peer for the tests) and reads its
// identity with `peershare id --json`.
import { spawn, execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * @param {string} cli  path of the peershare CLI script (out/node-host.js or dist/node-host/cli.js)
 * @param {string} dataDir
 * @param {string} logFile
 */
export async function startPeer(cli, dataDir, logFile) {
  fs.mkdirSync(dataDir, { recursive: true });
  const log = fs.openSync(logFile, "a");
  const child = spawn(process.execPath, [cli, "start", "--data-dir", dataDir, "--port", "0", "--host", "127.0.0.1"], {
    stdio: ["ignore", log, log],
  });
  fs.closeSync(log);
  let exited = false;
  child.once("exit", () => (exited = true));
  const deadline = Date.now() + 20_000;
  let info;
  while (!info) {
    if (exited) throw new Error(`the peer exited while starting; see ${logFile}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the peer did not answer within 20 s; see ${logFile}`);
    }
    try {
      const { stdout } = await run(process.execPath, [cli, "id", "--json", "--data-dir", dataDir]);
      info = JSON.parse(stdout);
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    id: info.id,
    host: info.host,
    port: info.port,
    pid: child.pid,
    async stop() {
      if (exited) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await gone;
      clearTimeout(t);
    },
  };
}

export function cliPath(root) {
  const bundled = path.join(root, "out/node-host.js");
  return fs.existsSync(bundled) ? bundled : path.join(root, "dist/node-host/cli.js");
}
