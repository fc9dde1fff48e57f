// The process manager against a scripted stand-in, and (when it has been built) against the real
// node-host bundle: spawn, JSON-RPC over stdio, notifications, restart with back-off, stop.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { NodeHost, logNodeLine, type NodeHostState } from "../../../extension/nodeHost";
import { MemoryLogger, repoRoot, waitFor } from "../helpers";

const root = repoRoot();
const fake = path.join(root, "test/extension/fixtures/fake-node-host.js");
const fastBackoff = { initialMs: 50, factor: 2, maxMs: 200, resetAfterMs: 60_000, maxAttempts: 3, jitter: 0 };

function makeHost(env: Record<string, string> = {}, logger = new MemoryLogger(), script = fake, extraArgs: string[] = []) {
  return new NodeHost({
    command: process.execPath,
    args: () => [script, "serve", "--stdio", ...extraArgs],
    env: { ...process.env, ...env },
    logger,
    backoff: fastBackoff,
    stopTimeoutMs: 500,
    startTimeoutMs: 10_000,
  });
}

test("start, request, notification, error, stop", async () => {
  const logger = new MemoryLogger();
  const host = makeHost({}, logger);
  const states: string[] = [];
  host.onState((s) => states.push(s.kind));
  let readies = 0;
  host.onReady(() => readies++);
  await host.start();
  assert.equal(host.isRunning, true);
  assert.equal(readies, 1);
  const info = await host.request("node.info", {});
  assert.equal(info.version, "0.0.0-fake");
  let notified: unknown;
  host.onNotification("peers.changed", (p) => (notified = p));
  const peers = await host.request("dht.peers", {});
  assert.equal(peers.length, 1);
  await waitFor(() => notified !== undefined, 2000, "peers.changed");
  assert.deepEqual(notified, { peers: 1 });
  await assert.rejects(host.request("dht.get", { key: "0".repeat(64) }), /Method not found/);
  await host.stop();
  assert.equal(host.isRunning, false);
  assert.deepEqual(states, ["starting", "running", "stopped"]);
  assert.ok(logger.lines.some((l) => l.startsWith("info [node] info: fake node")), "stderr is forwarded to the log");
  await assert.rejects(host.request("node.info", {}), /not running/);
});

test("a crashed node is restarted with back-off, then given up on", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-ext-"));
  const counter = path.join(dir, "starts");
  const host = makeHost({ FAKE_CRASH_AFTER_MS: "150", FAKE_COUNTER_FILE: counter });
  const states: NodeHostState[] = [];
  host.onState((s) => states.push(s));
  await host.start();
  await waitFor(() => states.some((s) => s.kind === "failed"), 10_000, "failed state");
  const restarts = states.filter((s) => s.kind === "restarting");
  assert.deepEqual(
    restarts.map((s) => (s.kind === "restarting" ? s.delayMs : 0)),
    [50, 100, 200],
  );
  assert.match(restarts[0].kind === "restarting" ? restarts[0].reason : "", /exited with code 3/);
  assert.equal(fs.readFileSync(counter, "utf8").trim().split("\n").length, 4, "first start + 3 restarts");
  // A manual restart starts over.
  await host.restart();
  assert.equal(host.isRunning, true);
  await host.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("stop kills a node that ignores node.stop", async () => {
  const host = makeHost({ FAKE_IGNORE_STOP: "1" });
  await host.start();
  const pid = host.pid!;
  const t0 = Date.now();
  await host.stop();
  assert.ok(Date.now() - t0 >= 400, "waited for the grace period");
  assert.throws(() => process.kill(pid, 0), /ESRCH/);
});

test("a missing executable ends in a clear failure, not a hang", async () => {
  const host = new NodeHost({
    command: "/nonexistent/node",
    args: () => ["x"],
    logger: new MemoryLogger(),
    backoff: { ...fastBackoff, maxAttempts: 1 },
    startTimeoutMs: 2000,
  });
  await assert.rejects(host.start());
  await waitFor(() => host.state.kind === "failed", 5000, "failed state");
  await host.stop();
});

test("node stderr lines are logged at their level", () => {
  const l = new MemoryLogger();
  logNodeLine(l, "2026-01-01T00:00:00Z warn: disk almost full");
  logNodeLine(l, "[error] boom");
  logNodeLine(l, "2026-01-01T00:00:00Z node abc listening");
  assert.deepEqual(l.lines.map((x) => x.split(" ")[0]), ["info", "error", "info"]);
});

const realNodeHost = path.join(root, "out/node-host.js");
test("the bundled node-host speaks the API over stdio", { skip: !fs.existsSync(realNodeHost) && "out/node-host.js not built" }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-ext-"));
  const host = makeHost({ PEERSHARE_PASSPHRASE: "peershare ext test" }, new MemoryLogger(), realNodeHost, ["--data-dir", dir, "--port", "0", "--host", "127.0.0.1"]);
  try {
    await host.start();
    const info = await host.request("node.info", {});
    assert.match(info.id, /^[0-9a-f]{64}$/);
    assert.equal(info.host, "127.0.0.1");
    const routing = await host.request("dht.routing", {});
    assert.equal(routing.self, info.id);
    const config = await host.request("config.get", {});
    assert.equal(typeof config.k, "number");
  } finally {
    await host.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
