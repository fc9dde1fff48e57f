// The `peershare` command as a user meets it: help, clear errors, settings with and without a node.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as path from "node:path";
import type { NodeInfo } from "../../node-host/rpc/api-types";
import { openKeyStore } from "../../node-host/security/key-store";
import { cli, cliJson, exited, plaintextKeyFiles, startNode, stopNode, tempDir, TEST_PASSPHRASE } from "../helpers/cli";

test("--help explains every command", async () => {
  const main = await cli(["--help"]);
  assert.equal(main.code, 0);
  for (const verb of ["start", "stop", "id", "peers", "routing", "dht lookup", "dht closest", "dht put", "dht get", "config get", "config set"]) assert.match(main.stdout, new RegExp(verb));
  for (const cmd of ["start", "dht", "config", "peers", "routing", "id", "stop", "serve"]) {
    const r = await cli([cmd, "--help"]);
    assert.equal(r.code, 0, cmd);
    assert.match(r.stdout, /Usage:\s+peershare/);
  }
});

test("mistakes get a sentence on stderr and a non-zero exit", async () => {
  const dir = tempDir("cli");
  try {
    const unknown = await cli(["frobnicate"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const noNode = await cli(["peers", "--data-dir", dir]);
    assert.equal(noNode.code, 1);
    assert.match(noNode.stderr, /no peershare node is running for .*; start one with: peershare start --data-dir/);
    const badFlag = await cli(["peers", "--colour"]);
    assert.equal(badFlag.code, 2);
    const badSetting = await cli(["config", "set", "k", "1000", "--data-dir", dir]);
    assert.equal(badSetting.code, 1);
    assert.match(badSetting.stderr, /k must be a whole number from 2 to 64/);
    const badBootstrap = await cli(["config", "set", "bootstrap", "nowhere", "--data-dir", dir]);
    assert.match(badBootstrap.stderr, /is not HOST:PORT/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("settings: changed without a node in config.json, live on a running node", async () => {
  const dir = tempDir("cli-config");
  try {
    const set = await cliJson<{ appliedLive: boolean; value: number }>(dir, ["config", "set", "replication", "5"]);
    assert.deepEqual({ appliedLive: set.appliedLive, value: set.value }, { appliedLive: false, value: 5 });
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")).replication, 5);
    const node = await startNode(dir);
    try {
      const got = await cliJson<Record<string, unknown>>(dir, ["config", "get"]);
      assert.equal(got.replication, 5);
      assert.equal(got.k, 20);
      const live = await cliJson<{ appliedLive: boolean }>(dir, ["config", "set", "alpha", "4"]);
      assert.equal(live.appliedLive, true);
      assert.deepEqual(await cliJson(dir, ["config", "get", "alpha"]), { alpha: 4 });
      const k = await cliJson<{ appliedLive: boolean }>(dir, ["config", "set", "k", "16"]);
      assert.equal(k.appliedLive, false, "k takes effect at the next start");
    } finally {
      await stopNode(node);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a second node on the same data dir, or on a port in use, is refused with a reason", async () => {
  const dir = tempDir("cli-twice");
  const busy = dgram.createSocket("udp4");
  await new Promise<void>((r) => busy.bind(0, "127.0.0.1", r));
  try {
    const node = await startNode(dir);
    try {
      const second = await cli(["start", "--data-dir", dir, "--port", "0", "--host", "127.0.0.1"]);
      assert.equal(second.code, 1);
      assert.match(second.stderr, /already running/);
      const info = await cliJson<{ id: string }>(dir, ["id"]);
      assert.equal(info.id, node.id, "the first node is unharmed");
    } finally {
      await stopNode(node);
    }
    const port = busy.address().port;
    const inUse = await cli(["start", "--data-dir", dir, "--port", String(port), "--host", "127.0.0.1"]);
    assert.equal(inUse.code, 1);
    assert.match(inUse.stderr, new RegExp(`UDP port ${port} on 127.0.0.1 is in use`));
  } finally {
    busy.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the node keeps its identity across restarts, and `stop` ends it cleanly", async () => {
  const dir = tempDir("cli-restart");
  try {
    const first = await startNode(dir);
    const r = await cli(["stop", "--data-dir", dir]);
    assert.equal(r.code, 0);
    await exited(first.proc); // `stop` answers before the node has finished leaving
    assert.equal(first.proc.exitCode, 0);
    assert.equal(fs.existsSync(path.join(dir, "rpc.token")), false, "control files removed");
    const second = await startNode(dir);
    assert.equal(second.id, first.id);
    // the key lives encrypted in keys.enc (mode 0600); nothing on disk holds it in the clear
    const keyFile = path.join(dir, "keys.enc");
    assert.equal((fs.statSync(keyFile).mode & 0o777).toString(8), "600");
    assert.equal(fs.existsSync(path.join(dir, "identity.pem")), false);
    const info = await cliJson<NodeInfo>(dir, ["id"]);
    assert.deepEqual(info.keyStore, { kind: "passphrase-file", location: keyFile });
    const seed = await (await openKeyStore(dir, { passphrase: TEST_PASSPHRASE, keychain: "never" })).get("identity");
    assert.equal(seed?.length, 32);
    assert.deepEqual(plaintextKeyFiles(dir, seed!), []);
    await stopNode(second);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the local socket refuses callers without the token", async () => {
  const dir = tempDir("cli-auth");
  const node = await startNode(dir);
  try {
    const net = await import("node:net");
    const state = JSON.parse(fs.readFileSync(path.join(dir, "node.json"), "utf8")) as { socket: string };
    const reply = await new Promise<string>((resolve) => {
      const s = net.connect(state.socket, () => s.write(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "node.info", params: {} }) + "\n"));
      let data = "";
      s.on("data", (d) => (data += d));
      s.on("close", () => resolve(data));
    });
    assert.match(reply, /not authorized/);
    assert.doesNotMatch(reply, new RegExp(node.id));
  } finally {
    await stopNode(node);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
