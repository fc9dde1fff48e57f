import { test } from "node:test";
import assert from "node:assert/strict";
import {
  changedKeys,
  configChanges,
  DEFAULT_SETTINGS,
  encodeConfigValue,
  normalizeSettings,
  planSettingsChange,
  serveArgs,
  SYNCED_AT_START,
  unsupportedKeys,
} from "../../../extension/settings";

test("normalizeSettings falls back to defaults for missing or invalid values", () => {
  assert.deepEqual(normalizeSettings({}), DEFAULT_SETTINGS);
  const s = normalizeSettings({ bootstrapPeers: [" 10.0.0.1:7420 ", "", 5], listenPort: 70000, k: 8, alpha: "4", listenHost: " 127.0.0.1 " });
  assert.deepEqual(s.bootstrapPeers, ["10.0.0.1:7420"]);
  assert.equal(s.listenPort, 0);
  assert.equal(s.k, 8);
  assert.equal(s.alpha, 3);
  assert.equal(s.listenHost, "127.0.0.1");
});

test("serveArgs: serve --stdio with data dir, port, host and one --bootstrap per peer", () => {
  const s = { ...DEFAULT_SETTINGS, listenHost: "127.0.0.1", listenPort: 7421, bootstrapPeers: ["a:1", "b:2"] };
  assert.deepEqual(serveArgs("/x/node-host.js", "/data", s), [
    "/x/node-host.js", "serve", "--stdio", "--data-dir", "/data", "--port", "7421", "--host", "127.0.0.1", "--bootstrap", "a:1", "--bootstrap", "b:2",
  ]);
  assert.deepEqual(serveArgs("n.js", "/d", DEFAULT_SETTINGS), ["n.js", "serve", "--stdio", "--data-dir", "/d", "--port", "0"]);
});

test("changedKeys compares lists by content", () => {
  const a = { ...DEFAULT_SETTINGS, bootstrapPeers: ["a:1"] };
  assert.deepEqual(changedKeys(a, { ...a, bootstrapPeers: ["a:1"] }), []);
  assert.deepEqual(changedKeys(a, { ...a, bootstrapPeers: ["a:1", "b:2"], k: 10 }), ["bootstrapPeers", "k"]);
});

test("planSettingsChange: address and bootstrap settings need a restart, DHT parameters go live", () => {
  assert.deepEqual(planSettingsChange(["listenPort", "alpha", "bootstrapPeers", "k", "cacheSizeMB"]), {
    live: ["alpha", "k", "cacheSizeMB"],
    restart: ["listenPort", "bootstrapPeers"],
  });
});

test("configChanges: only keys the node knows and whose values differ, encoded as text", () => {
  const nodeConfig = { k: 20, alpha: 3, replication: 3, port: 0, host: "127.0.0.1", bootstrap: [] };
  const settings = { ...DEFAULT_SETTINGS, alpha: 5, replicationFactor: 3, cacheSizeMB: 10 };
  assert.deepEqual(configChanges(settings, nodeConfig, SYNCED_AT_START), [{ setting: "alpha", key: "alpha", value: "5" }]);
  assert.deepEqual(unsupportedKeys(nodeConfig, SYNCED_AT_START), ["cacheSizeMB", "iceServers", "forceWebRtc", "shareWarnMB", "lanDiscovery"]);
  assert.equal(encodeConfigValue(["stun:a:1", "stun:b:2"]), "stun:a:1,stun:b:2");
  assert.equal(encodeConfigValue(7), "7");
});

test("forceWebRtc maps onto the node's bulkPath (webrtc | auto); iceServers go as a list", () => {
  const nodeConfig = { k: 20, alpha: 3, replication: 3, cacheSizeMB: 1024, bulkPath: "auto", iceServers: [] };
  assert.deepEqual(configChanges(DEFAULT_SETTINGS, nodeConfig, SYNCED_AT_START), []);
  const s = { ...DEFAULT_SETTINGS, forceWebRtc: true, iceServers: ["stun:stun.example.org:3478"], cacheSizeMB: 64 };
  assert.deepEqual(configChanges(s, nodeConfig, SYNCED_AT_START), [
    { setting: "cacheSizeMB", key: "cacheSizeMB", value: "64" },
    { setting: "iceServers", key: "iceServers", value: "stun:stun.example.org:3478" },
    { setting: "forceWebRtc", key: "bulkPath", value: "webrtc" },
  ]);
  assert.deepEqual(configChanges(s, { ...nodeConfig, bulkPath: "webrtc" }, ["forceWebRtc"]), []);
  assert.deepEqual(configChanges(DEFAULT_SETTINGS, { ...nodeConfig, bulkPath: "webrtc" }, ["forceWebRtc"]), [{ setting: "forceWebRtc", key: "bulkPath", value: "auto" }]);
  // a change the user just made is written even when the running node has that value already
  // (its saved config may hold another one for its next start)
  assert.deepEqual(configChanges(DEFAULT_SETTINGS, nodeConfig, ["forceWebRtc", "k", "listenPort"], true), [
    { setting: "forceWebRtc", key: "bulkPath", value: "auto" },
    { setting: "k", key: "k", value: "20" },
  ]);
  assert.equal(normalizeSettings({ forceWebRtc: "yes" }).forceWebRtc, false);
  assert.equal(normalizeSettings({ forceWebRtc: true }).forceWebRtc, true);
  assert.equal(normalizeSettings({ cacheSizeMB: 4 }).cacheSizeMB, DEFAULT_SETTINGS.cacheSizeMB);
  assert.deepEqual(planSettingsChange(["forceWebRtc", "iceServers"]), { live: ["forceWebRtc", "iceServers"], restart: [] });
});

test("shareWarnMB maps onto the node's shareWarnMB, applied at once; 0 (never ask for size) is valid", () => {
  const nodeConfig = { shareWarnMB: 1024 };
  assert.deepEqual(configChanges(DEFAULT_SETTINGS, nodeConfig, SYNCED_AT_START), []);
  assert.deepEqual(configChanges({ ...DEFAULT_SETTINGS, shareWarnMB: 0 }, nodeConfig, SYNCED_AT_START), [{ setting: "shareWarnMB", key: "shareWarnMB", value: "0" }]);
  assert.deepEqual(planSettingsChange(["shareWarnMB"]), { live: ["shareWarnMB"], restart: [] });
  assert.equal(normalizeSettings({ shareWarnMB: 0 }).shareWarnMB, 0);
  assert.equal(normalizeSettings({ shareWarnMB: -1 }).shareWarnMB, 1024);
  assert.equal(normalizeSettings({ shareWarnMB: 2.5 }).shareWarnMB, 1024);
});

test("lanDiscovery maps onto the node's lanDiscovery (on | off), applied at once", () => {
  const nodeConfig = { lanDiscovery: "on" };
  assert.deepEqual(configChanges(DEFAULT_SETTINGS, nodeConfig, SYNCED_AT_START), []);
  assert.deepEqual(configChanges({ ...DEFAULT_SETTINGS, lanDiscovery: false }, nodeConfig, SYNCED_AT_START), [{ setting: "lanDiscovery", key: "lanDiscovery", value: "off" }]);
  assert.deepEqual(configChanges(DEFAULT_SETTINGS, { lanDiscovery: "off" }, ["lanDiscovery"]), [{ setting: "lanDiscovery", key: "lanDiscovery", value: "on" }]);
  assert.deepEqual(planSettingsChange(["lanDiscovery"]), { live: ["lanDiscovery"], restart: [] });
  assert.equal(normalizeSettings({ lanDiscovery: "no" }).lanDiscovery, true);
  assert.equal(normalizeSettings({ lanDiscovery: false }).lanDiscovery, false);
});
