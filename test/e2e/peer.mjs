// Starts a standalone peershare node with the CLI (a second peer for the tests) and reads its
// identity with `peershare id --json`; shares and fetches files through that node's CLI.
import { spawn, execFile } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import zlib from "node:zlib";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * @param {string} cli  path of the peershare CLI script (out/node-host.js or dist/node-host/cli/index.js)
 * @param {string} dataDir
 * @param {string} logFile
 */
export async function startPeer(cli, dataDir, logFile) {
  fs.mkdirSync(dataDir, { recursive: true });
  const log = fs.openSync(logFile, "a");
  const child = spawn(process.execPath, [cli, "start", "--data-dir", dataDir, "--port", "0", "--host", "127.0.0.1"], {
    stdio: ["ignore", log, log],
    // keys in a passphrase-protected file in the peer's data dir (the bundle has no keychain module)
    env: { ...process.env, PEERSHARE_PASSPHRASE: "peershare e2e peer" },
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
  return fs.existsSync(bundled) ? bundled : path.join(root, "dist/node-host/cli/index.js");
}

/** `peershare share PATH --json` on a node started by startPeer; resolves with the ShareInfo. */
export async function cliShare(cli, dataDir, file, { public: pub = false, replication } = {}) {
  const args = [cli, "share", file, "--data-dir", dataDir, "--json"];
  if (pub) args.push("--public");
  if (replication) args.push("--replication", String(replication));
  const { stdout } = await run(process.execPath, args, { timeout: 60_000 });
  return JSON.parse(stdout);
}

/** `peershare fetch LINK -o DIR/ --json`; resolves with the final event (FetchInfo + event: "done"). */
export async function cliFetch(cli, dataDir, link, outDir) {
  const out = outDir.endsWith(path.sep) ? outDir : outDir + path.sep;
  const { stdout } = await run(process.execPath, [cli, "fetch", link, "-o", out, "--data-dir", dataDir, "--json"], { timeout: 120_000 });
  const events = stdout.trim().split("\n").map((l) => JSON.parse(l));
  const done = events.find((e) => e.event === "done");
  if (!done) throw new Error(`fetch printed no result: ${stdout.slice(0, 500)}`);
  return done;
}

/** A small valid PNG (RGB, w×h, a diagonal gradient) without any image library. */
export function makePng(w = 64, h = 48) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = Math.round((x / w) * 255);
      raw[o + 1] = Math.round((y / h) * 255);
      raw[o + 2] = 160;
    }
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", zlib.deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

export function sha256File(file) {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}
