// Terminal rendering that carries meaning: XOR distance bit lengths and the lookup trace.

import { test } from "node:test";
import assert from "node:assert/strict";
import { distanceBits, formatLookup } from "../../node-host/cli/format";
import type { LookupResult } from "../../node-host/rpc/api-types";

test("distanceBits is the bit length of an XOR distance", () => {
  assert.equal(distanceBits("0".repeat(64)), 0);
  assert.equal(distanceBits("0".repeat(63) + "1"), 1);
  assert.equal(distanceBits("0".repeat(63) + "f"), 4);
  assert.equal(distanceBits("0".repeat(62) + "10"), 5);
  assert.equal(distanceBits("8" + "0".repeat(63)), 256);
  assert.equal(distanceBits("1" + "0".repeat(63)), 253);
});

test("a lookup prints a summary, and with --trace every node asked, by hop", () => {
  const q = (hop: number, distance: string, ok: boolean) => ({ id: `${hop}${distance[0]}`.padEnd(64, "a"), host: "127.0.0.1", port: 7000 + hop, distance, hop, rttMs: ok ? 1.5 : null, ok });
  const r: LookupResult = {
    key: "ab".repeat(32),
    value: null,
    providers: [],
    closest: [],
    hops: 2,
    durationMs: 12.3,
    queried: [q(2, "0".repeat(60) + "00ff", true), q(1, "7" + "0".repeat(63), true), q(1, "0f" + "0".repeat(62), false)],
  };
  const plain = formatLookup(r);
  assert.match(plain, /2 hop\(s\), 3 node\(s\) asked, 2 answered, 12\.3 ms \(--trace shows each hop\)/);
  assert.doesNotMatch(plain, /HOP/);
  const lines = formatLookup(r, true).split("\n");
  assert.match(lines[2], /^HOP\s+NODE\s+ADDRESS\s+DISTANCE\s+BITS\s+RTT\s+ANSWER$/);
  assert.match(lines[3], /^1 .* 252 .* - +no answer$/);
  assert.match(lines[4], /^1 .* 255 .* 1\.5 ms +answered$/);
  assert.match(lines[5], /^2 .* 8 .* 1\.5 ms +answered$/);
  assert.match(formatLookup({ ...r, vouched: 5 }), /3 node\(s\) asked, 2 answered, 5 more heard from lately \(not asked\), 12\.3 ms/);
});

test("with --trace, a node still unanswered when the lookup ended says so, apart from one that never answered", () => {
  const q = (pending: boolean) => ({ id: `${pending ? "b" : "c"}`.padEnd(64, "a"), host: "127.0.0.1", port: 7001, distance: "f" + "0".repeat(63), hop: 1, rttMs: null, ok: false, pending });
  const r: LookupResult = { key: "ab".repeat(32), value: null, providers: [], closest: [], hops: 1, durationMs: 3, queried: [q(true), q(false)] };
  const lines = formatLookup(r, true).split("\n");
  assert.ok(lines.some((l) => /- +not yet$/.test(l)), lines.join("\n"));
  assert.ok(lines.some((l) => /- +no answer$/.test(l)));
});
