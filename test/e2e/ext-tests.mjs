// Runs the extension-host mocha suites (out/test/suite, the run() contract of
// @vscode/test-electron) inside code-server's real extension host: the web workbench reads
// extensionDevelopmentPath / extensionTestsPath from the `payload` URL parameter and calls
// window.codeAutomationExit(code) when the suites finish. Prints "N passed, N failed".
import fs from "node:fs";
import path from "node:path";
import util from "node:util";
import { launchBrowser } from "./browser.mjs";

const BASE = process.env.CS_URL ?? "http://127.0.0.1:8090";
const authority = new URL(BASE).host; // code-server's remote authority is host:port
const EXT = process.env.EXT_DIR ?? ".";
const TESTS = process.env.TESTS_PATH ?? path.join(EXT, "out/test/suite/index");
const WS = process.env.WS_DIR ?? "ws";
const OUT = process.env.ARTIFACTS ?? "test-artifacts";
const TIMEOUT = Number(process.env.TEST_TIMEOUT_MS ?? 180_000);
const t0 = Date.now();

const remote = (p) => `vscode-remote://${authority}${p}`;
const payload = JSON.stringify([
  ["extensionDevelopmentPath", remote(EXT)],
  ["extensionTestsPath", remote(TESTS)],
]);
const url = `${BASE}/?folder=${encodeURIComponent(WS)}&payload=${encodeURIComponent(payload)}`;

const { ctx, page, profile } = await launchBrowser(".");
let done;
const exited = new Promise((r) => (done = r));
let summary;
let passes = 0;
let fails = 0;
const NOISE = /^(CommandService|onWillActivate|MainThread|ExtHost|\[AgentHost|\[ChatModel|\[AccountPolicy)/;
await page.exposeFunction("codeAutomationLog", (_type, args) => {
  const line = util.format(...args);
  if (NOISE.test(line)) return;
  console.log("[ext-host]", line);
  const m = /peershare-ext-tests: (\d+) failed of (\d+)/.exec(line);
  if (m) summary = { failed: Number(m[1]), total: Number(m[2]) };
  if (/^\s+(✔|✓)/.test(line)) passes++;
  if (/^\s+\d+\) /.test(line)) fails++;
});
await page.exposeFunction("codeAutomationExit", (code) => done(code));
if (process.env.DEBUG) page.on("console", (m) => console.log("[page]", m.type(), m.text().slice(0, 400)));
await page.goto(url);
const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("timeout"), TIMEOUT))]);
await page.screenshot({ path: path.join(OUT, code === 0 ? "ext-tests-end.png" : "fail-ext-tests.png") }).catch(() => {});
console.log(`extension-host tests finished: exit code ${code} after ${((Date.now() - t0) / 1000).toFixed(1)}s`);
await ctx.close();
fs.rmSync(profile, { recursive: true, force: true });
let passed;
let failed;
if (summary) {
  // Pending (skipped) tests count as neither.
  failed = summary.failed;
  passed = Math.min(passes, summary.total - summary.failed);
} else {
  passed = passes;
  failed = Math.max(fails, code === 0 ? 0 : 1);
}
if (code !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(code === 0 && failed === 0 ? 0 : 1);
