// Runs the extension-host suites (out/test/suite) in VS Code's desktop build through
// @vscode/test-electron, which downloads VS Code on first use (needs internet; offline, the same
// suites run in code-server through test/e2e/run.sh). A second node is started with the CLI and
// the test workspace bootstraps to it, as in the offline run.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runTests } from "@vscode/test-electron";
import { cliPath, cliShare, startPeer } from "../e2e/peer.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const scratch = path.join(root, ".tmp/electron-test");
fs.rmSync(scratch, { recursive: true, force: true });
const ws = path.join(scratch, "ws");
fs.mkdirSync(path.join(ws, ".vscode"), { recursive: true });

const cli = cliPath(root);
const peer = await startPeer(cli, path.join(scratch, "peer"), path.join(scratch, "peer.log"));
// A file the second node shares, for the fetch / open tests.
const notes = path.join(scratch, "peer-notes.md");
fs.writeFileSync(notes, `# Notes from the second node\n\n- written ${new Date().toISOString()}\n`);
const shared = await cliShare(cli, path.join(scratch, "peer"), notes);
fs.writeFileSync(
  path.join(ws, ".vscode/settings.json"),
  JSON.stringify({ "peershare.bootstrapPeers": [`127.0.0.1:${peer.port}`], "peershare.listenHost": "127.0.0.1" }, null, 2),
);
let code = 1;
try {
  await runTests({
    version: process.env.VSCODE_VERSION ?? "stable",
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(root, "out/test/suite/index"),
    extensionTestsEnv: {
      PEERSHARE_E2E_PEER_ID: peer.id,
      PEERSHARE_E2E_CLI: cli,
      PEERSHARE_E2E_PEER_DIR: path.join(scratch, "peer"),
      PEERSHARE_E2E_PEER_LINK: shared.link,
      PEERSHARE_E2E_PEER_FILE: notes,
    },
    launchArgs: [ws, "--disable-extensions", "--disable-workspace-trust", "--user-data-dir", path.join(scratch, "ud")],
  });
  code = 0;
} catch (err) {
  console.error(`extension-host tests failed: ${err?.message ?? err}`);
} finally {
  await peer.stop();
}
process.exit(code);
