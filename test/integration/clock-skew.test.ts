// Nodes whose clocks are off, as real processes under Debian's libfaketime: a node 10 minutes behind
// joins through a node on the true clock, publishes and shares, and the others get its value and
// fetch its file byte-identical; `peershare id` says how far off its clock is. A node 2 hours behind
// cannot take part, and says so plainly in `peershare id` and its log (rather than only "no
// bootstrap contact answered"). Needs faketime (`apt-get install faketime`): skipped without it, a
// failure when CI=true.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { cli, cliJson, fetchOk, RunningNode, startNode, stopNode, tempDir, waitFor } from "../helpers/cli";
import { shiftedClock } from "../helpers/faketime";
import type { NodeInfo, ShareInfo } from "../../node-host/rpc/api-types";

const behind10 = shiftedClock("-10m");
const behind2h = shiftedClock("-2h");
const FAST = { healthCheckIntervalMs: 500, offlineAfterMisses: 2, rpcTimeoutMs: 500, lanDiscovery: "off" };

if (!behind10 || !behind2h) {
  if (process.env.CI === "true") test("clock skew", () => assert.fail("libfaketime is missing: .ci/run installs Debian's faketime"));
  else test("clock skew", { skip: "needs Debian's faketime (apt-get install faketime)" }, () => undefined);
} else {
  describe("clock skew", () => {
    const root = tempDir("clock-skew");
    const nodes: RunningNode[] = [];
    const start = async (name: string, wrap: string[] = [], bootstrap = nodes.length ? [`127.0.0.1:${nodes[0].port}`] : []) => {
      const dir = path.join(root, name);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(FAST));
      const node = await startNode(dir, bootstrap, [], undefined, wrap);
      nodes.push(node);
      return node;
    };
    let a: RunningNode;
    let b: RunningNode;
    let skewed: RunningNode;

    before(async () => {
      a = await start("a");
      b = await start("b");
      skewed = await start("skewed", behind10);
    });
    after(async () => {
      for (const n of nodes) await stopNode(n, "SIGKILL");
    });

    test("a node 10 minutes behind joins, publishes and shares; its peers read and fetch what it put out", async () => {
      await waitFor("the skewed node to know both others", async () => (await cliJson<NodeInfo>(skewed.dataDir, ["id"])).peers >= 2);
      const put = await cliJson<{ key: string }>(skewed.dataDir, ["dht", "put", "notes", "from the node behind"]);
      const got = await cliJson<{ value: string }>(a.dataDir, ["dht", "get", put.key]);
      assert.equal(got.value, "from the node behind");

      const file = path.join(root, "skewed-file.bin");
      const bytes = randomBytes(300_000);
      fs.writeFileSync(file, bytes);
      const share = await cliJson<ShareInfo>(skewed.dataDir, ["share", file]);
      const fetched = await fetchOk(b, share.link, path.join(root, "out-b") + path.sep);
      assert.equal(createHash("sha256").update(fs.readFileSync(fetched.path)).digest("hex"), createHash("sha256").update(bytes).digest("hex"));

      const info = await cliJson<NodeInfo>(skewed.dataDir, ["id"]);
      assert.ok(info.clock && info.clock.offsetMs !== null && Math.abs(info.clock.offsetMs + 600_000) < 5000, `offset ${info.clock?.offsetMs}`);
      const text = await cli(["id", "--data-dir", skewed.dataDir]);
      assert.match(text.stdout, /clock: this computer's clock is (9 min 5\d|10 min \d) s behind its peers'/);
      // and the nodes on the true clock see theirs in step
      assert.equal((await cliJson<NodeInfo>(a.dataDir, ["id"])).clock?.problem, null);
    });

    test("a node 2 hours behind says plainly that its clock is off and by how much", async () => {
      const far = await start("far", behind2h);
      const sentence = /clock: this computer's clock is (1 h 59 min|2 h 0 min) behind its peers' .*more than the 10 minutes peershare corrects for/;
      await waitFor("the far node to report its clock", async () => sentence.test((await cli(["id", "--data-dir", far.dataDir])).stdout));
      assert.equal((await cliJson<NodeInfo>(far.dataDir, ["id"])).peers, 0, "its peers drop what it sends");
      assert.match(far.stderr(), sentence);
    });
  });
}
