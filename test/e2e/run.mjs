/* global fetch */
// Orchestrates the extension's offline end-to-end run (after setup.sh has installed chromium and
// code-server into .tmp/vscode-test/):
//   1. unit tests of the extension's pure logic (node --test)
//   2. `npm run package` → .vsix (extension + bundled node-host), installed into code-server
//   3. a second node started with the peershare CLI; workspaces bootstrap to it via settings
//   4. code-server + headless Chromium: UI test (ui-test.mjs), then the extension-host mocha
//      suites through the workbench's test payload (ext-tests.mjs)
// Prints "N passed, N failed" last and exits non-zero on any failure.
// Env: E2E_SKIP_UNIT=1 skips step 1; E2E_KEEP=1 keeps the run folder; E2E_TIMEOUT_S (default 480).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import crypto from "node:crypto";
import { cliPath, cliShare, makePng, startPeer } from "./peer.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const scratch = process.env.SCRATCH ?? path.join(root, ".tmp/vscode-test");
const runDir = path.join(scratch, "run");
const artifacts = path.join(root, "test-artifacts");
const cs = path.join(scratch, "cs/node_modules/.bin/code-server");
const t0 = Date.now();
const lap = (m) => console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);

let passed = 0;
let failed = 0;
const failures = [];
const cleanups = [];

function count(what, p, f) {
  passed += p;
  failed += f;
  if (f) failures.push(`${what}: ${f} failed`);
  lap(`${what}: ${p} passed, ${f} failed`);
}

let finishing = false;
async function finish(code) {
  if (finishing) return;
  finishing = true;
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch (err) {
      console.error(`cleanup: ${err.message}`);
    }
  }
  if (!process.env.E2E_KEEP) {
    // Node processes of the extension hosts may still be closing their stores for a moment.
    try {
      fs.rmSync(runDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 300 });
    } catch (err) {
      console.error(`cleanup: ${err.message}`);
    }
  }
  lap(`done${failures.length ? `; failures: ${failures.join("; ")}` : ""}`);
  if (code !== 0 && failed === 0) failed = 1;
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

const watchdog = setTimeout(() => {
  console.error(`e2e: over ${process.env.E2E_TIMEOUT_S ?? 480} s, giving up`);
  failures.push("timeout");
  void finish(1);
}, Number(process.env.E2E_TIMEOUT_S ?? 480) * 1000);
watchdog.unref();
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => void finish(1));

/** Runs a command, echoing its output, and returns {code, out}. */
function exec(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], ...opts });
    let out = "";
    const onData = (d) => {
      out += d;
      if (!opts.quiet) process.stdout.write(d);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("close", (code) => resolve({ code: code ?? 1, out }));
    child.on("error", (err) => resolve({ code: 1, out: String(err) }));
  });
}

/** The "N passed, N failed" line a child printed, or a single failure. */
function closingLine(out, code) {
  const m = [...out.matchAll(/^(\d+) passed, (\d+) failed/gm)].pop();
  if (m) return [Number(m[1]), Number(m[2]) + (code !== 0 && Number(m[2]) === 0 ? 1 : 0)];
  return code === 0 ? [1, 0] : [0, 1];
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function workspace(name, peer, shared) {
  const ws = path.join(runDir, name);
  fs.mkdirSync(path.join(ws, ".vscode"), { recursive: true });
  fs.mkdirSync(path.join(ws, "downloads"), { recursive: true });
  fs.writeFileSync(path.join(ws, "readme.txt"), "peershare end-to-end workspace\n");
  // A file to share: different in every run and workspace, so its content ID is new each time.
  fs.writeFileSync(
    path.join(ws, "share-me.txt"),
    `shared from the ${name} workspace\nnonce ${crypto.randomBytes(16).toString("hex")}\n${"the quick brown fox jumps over the lazy dog\n".repeat(200)}`,
  );
  fs.writeFileSync(path.join(ws, "links.md"), `# Links from a teammate\n\nThe notes: ${shared.notes.link}\n\nThe logo (public): ${shared.logo.link}\n`);
  fs.writeFileSync(
    path.join(ws, ".vscode/settings.json"),
    JSON.stringify({ "peershare.bootstrapPeers": [`127.0.0.1:${peer.port}`], "peershare.listenHost": "127.0.0.1" }, null, 2),
  );
  return ws;
}

try {
  if (!fs.existsSync(cs)) throw new Error(`code-server is not installed at ${cs}; run test/e2e/setup.sh`);
  fs.rmSync(runDir, { recursive: true, force: true });
  for (const d of ["tmp", "xdg", "ud/User", "exts", "peer"]) fs.mkdirSync(path.join(runDir, d), { recursive: true });
  // The run dir lies in this repo's git-ignored .tmp/: a repository of its own keeps its files from
  // counting as git-ignored, which would make every share ask for confirmation.
  execFileSync("git", ["init", "-q", runDir]);
  fs.mkdirSync(artifacts, { recursive: true });
  const env = {
    ...process.env,
    TMPDIR: path.join(runDir, "tmp"),
    XDG_CONFIG_HOME: path.join(runDir, "xdg"),
    XDG_DATA_HOME: path.join(runDir, "xdg/data"),
  };

  // 1. unit tests
  if (!process.env.E2E_SKIP_UNIT) {
    // The bundled node-host too: one unit test drives it over stdio.
    const b = await exec(process.execPath, ["extension/build.mjs", "extension", "node-host", "webview", "tests"]);
    if (b.code !== 0) count("unit tests (build)", 0, 1);
    else {
      const u = await exec(process.execPath, ["--test", "--test-reporter=tap", "out/test/unit"], { quiet: true });
      const pass = Number(/^# pass (\d+)/m.exec(u.out)?.[1] ?? 0);
      const fail = Number(/^# fail (\d+)/m.exec(u.out)?.[1] ?? (u.code ? 1 : 0));
      if (fail) console.log(u.out.split("\n").filter((l) => /^not ok|error:|expected|actual/.test(l.trim())).join("\n"));
      count("unit tests", pass, fail || (u.code && !pass ? 1 : 0));
    }
  } else {
    // The extension-host suites still need out/test/suite.
    await exec(process.execPath, ["extension/build.mjs", "tests"]);
  }

  // 2. package + install
  const vsix = path.join(runDir, "peershare.vsix");
  const pkg = await exec("npm", ["run", "--silent", "package", "--", "-o", vsix], { quiet: true });
  if (pkg.code !== 0 || !fs.existsSync(vsix)) {
    console.log(pkg.out);
    throw new Error("npm run package failed");
  }
  const list = spawnSync("unzip", ["-l", vsix], { encoding: "utf8" }).stdout ?? "";
  for (const f of [
    "extension/out/extension.js",
    "extension/out/node-host.js",
    "extension/out/webview/main.js",
    "extension/package.json",
    // the node-host's native WebRTC package, with its binary for this platform
    "extension/out/node_modules/node-datachannel/package.json",
    "node_datachannel.node",
  ]) {
    if (!list.includes(f)) throw new Error(`the .vsix lacks ${f}`);
  }
  lap(`packaged ${path.relative(root, vsix)} (${(fs.statSync(vsix).size / 1024).toFixed(0)} KB)`);
  const csCommon = ["--config", path.join(runDir, "cs-config.yaml"), "--user-data-dir", path.join(runDir, "ud"), "--extensions-dir", path.join(runDir, "exts")];
  const port = await freePort();
  fs.writeFileSync(path.join(runDir, "cs-config.yaml"), `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  fs.writeFileSync(
    path.join(runDir, "ud/User/settings.json"),
    JSON.stringify({
      "workbench.startupEditor": "none",
      "telemetry.telemetryLevel": "off",
      "extensions.autoCheckUpdates": false,
      "extensions.autoUpdate": false,
      "update.mode": "none",
      "workbench.tips.enabled": false,
      "security.workspace.trust.enabled": false,
      "git.openRepositoryInParentFolders": "never",
      "git.autoRepositoryDetection": false,
    }),
  );
  const inst = await exec(cs, [...csCommon, "--install-extension", vsix], { env, quiet: true });
  if (inst.code !== 0 || !/successfully installed/i.test(inst.out)) {
    console.log(inst.out);
    throw new Error("installing the .vsix into code-server failed");
  }
  lap("installed into code-server");

  // 3. a second peer
  const peer = await startPeer(cliPath(root), path.join(runDir, "peer"), path.join(runDir, "peer.log"));
  cleanups.push(() => peer.stop());
  lap(`second node ${peer.id.slice(0, 12)}… on ${peer.host}:${peer.port}`);
  // Files the second node shares: a text file (private), an image (public), a binary (private).
  const peerFiles = path.join(runDir, "peer-files");
  fs.mkdirSync(peerFiles, { recursive: true });
  const files = {
    notes: path.join(peerFiles, "peer-notes.md"),
    logo: path.join(peerFiles, "peer-logo.png"),
    data: path.join(peerFiles, "peer-data.bin"),
  };
  fs.writeFileSync(files.notes, `# Notes from the second node\n\n- nonce ${crypto.randomBytes(8).toString("hex")}\n- shared with \`peershare share\`\n`);
  fs.writeFileSync(files.logo, makePng(96, 64));
  fs.writeFileSync(files.data, Buffer.concat([Buffer.from([0, 1, 2, 0, 255, 0]), crypto.randomBytes(300_000)]));
  const cli = cliPath(root);
  const shared = {
    notes: await cliShare(cli, path.join(runDir, "peer"), files.notes),
    logo: await cliShare(cli, path.join(runDir, "peer"), files.logo, { public: true }),
    data: await cliShare(cli, path.join(runDir, "peer"), files.data),
  };
  // A folder the second node shares: nested, a non-ASCII name, a text file with a word to search for,
  // and a 4 MiB file that opening another file must not fetch.
  const peerFolder = path.join(runDir, "peer-project");
  const put = (rel, bytes) => {
    fs.mkdirSync(path.dirname(path.join(peerFolder, rel)), { recursive: true });
    fs.writeFileSync(path.join(peerFolder, rel), bytes);
  };
  put("README.md", "# Peer project\n\nshared as a folder\n");
  put("docs/guide.md", `# Guide\n\nThe word to find is zanzibar-${crypto.randomBytes(4).toString("hex")}.\n`);
  put("docs/notes/données.txt", "crème brûlée\n");
  put("assets/big.bin", crypto.randomBytes(4 * 1024 * 1024));
  put("src/main.ts", 'export const hello = "world";\n');
  fs.mkdirSync(path.join(peerFolder, "empty"), { recursive: true });
  // r = 1: no repair sweep copies it to the window's node, whose fetches the tests count
  shared.folder = await cliShare(cli, path.join(runDir, "peer"), peerFolder, { replication: 1 });
  files.folder = peerFolder;
  lap(`second node shares ${Object.values(shared).map((s) => s.name).join(", ")}`);
  const wsUi = workspace("ws-ui", peer, shared);
  const wsExt = workspace("ws-ext", peer, shared);

  // 4. code-server
  const csLog = fs.openSync(path.join(runDir, "cs-server.log"), "w");
  const server = spawn(
    cs,
    // the proposed search API lets Quick Open and the Search view search shared folders (features/folderSearch.ts)
    [...csCommon, "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust", "--disable-getting-started-override", "--ignore-last-opened", "--enable-proposed-api", "peershare.peershare", wsUi],
    {
      env: {
        ...env,
        PEERSHARE_E2E_PEER_ID: peer.id,
        PEERSHARE_E2E_CLI: cli,
        PEERSHARE_E2E_PEER_DIR: path.join(runDir, "peer"),
        PEERSHARE_E2E_PEER_LINK: shared.notes.link,
        PEERSHARE_E2E_PEER_FILE: files.notes,
        PEERSHARE_E2E_PEER_FOLDER_LINK: shared.folder.link,
        PEERSHARE_E2E_PEER_FOLDER: peerFolder,
      },
      stdio: ["ignore", csLog, csLog],
    },
  );
  fs.closeSync(csLog);
  cleanups.push(async () => {
    if (server.exitCode !== null) return;
    const gone = new Promise((r) => server.once("exit", r));
    server.kill("SIGTERM");
    const t = setTimeout(() => server.kill("SIGKILL"), 5000);
    await gone;
    clearTimeout(t);
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      /* not up yet */
    }
    if (i > 150 || server.exitCode !== null) throw new Error(`code-server did not come up; see ${path.join(runDir, "cs-server.log")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  lap(`code-server up on ${base}`);

  const testEnv = {
    ...env,
    CS_URL: base,
    PROFILE_PARENT: path.join(runDir, "tmp"),
    ARTIFACTS: artifacts,
    PEER_ID: peer.id,
    PEER_ADDR: `${peer.host}:${peer.port}`,
    PEER_DIR: path.join(runDir, "peer"),
    PEER_CLI: cli,
    PEER_SHARED: JSON.stringify(shared),
    PEER_FILES: JSON.stringify(files),
  };
  const ui = await exec(process.execPath, [path.join(root, "test/e2e/ui-test.mjs")], { env: { ...testEnv, WS_DIR: wsUi } });
  count("UI test", ...closingLine(ui.out, ui.code));
  const ext = await exec(process.execPath, [path.join(root, "test/e2e/ext-tests.mjs")], {
    env: { ...testEnv, WS_DIR: wsExt, EXT_DIR: root, TESTS_PATH: path.join(root, "out/test/suite/index") },
  });
  count("extension-host suites", ...closingLine(ext.out, ext.code));
  if (failed) {
    for (const f of ["cs-server.log", "peer.log"]) {
      const p = path.join(runDir, f);
      if (fs.existsSync(p)) fs.copyFileSync(p, path.join(artifacts, f));
    }
    const logs = path.join(runDir, "ud/logs");
    if (fs.existsSync(logs)) fs.cpSync(logs, path.join(artifacts, "vscode-logs"), { recursive: true });
  }
  await finish(0);
} catch (err) {
  console.error(`e2e: ${err.stack ?? err}`);
  failures.push(String(err.message ?? err));
  await finish(1);
}
