import { test } from "node:test";
import assert from "node:assert/strict";
import {
  distanceBits,
  formatAgo,
  formatBytes,
  formatDistance,
  formatDuration,
  formatMs,
  formatRate,
  formatRtt,
  normalizeKey,
  pluralize,
  shortId,
  validateHostPort,
} from "../../../extension/format";

test("shortId keeps short ids and abbreviates long ones", () => {
  assert.equal(shortId("abcdef"), "abcdef");
  assert.equal(shortId("0123456789abcdef"), "01234567…");
  assert.equal(shortId("0123456789abcdef", 4), "0123…");
  assert.equal(shortId(""), "");
});

test("formatRtt", () => {
  assert.equal(formatRtt(null), "rtt —");
  assert.equal(formatRtt(undefined), "rtt —");
  assert.equal(formatRtt(0.3), "<1 ms");
  assert.equal(formatRtt(2.345), "2.3 ms");
  assert.equal(formatRtt(123.6), "124 ms");
});

test("formatAgo", () => {
  const now = 1_000_000_000;
  assert.equal(formatAgo(0, now), "never");
  assert.equal(formatAgo(now - 500, now), "just now");
  assert.equal(formatAgo(now - 12_000, now), "12s ago");
  assert.equal(formatAgo(now - 5 * 60_000, now), "5m ago");
  assert.equal(formatAgo(now - 3 * 3_600_000, now), "3h ago");
  assert.equal(formatAgo(now - 72 * 3_600_000, now), "3d ago");
  assert.equal(formatAgo(now + 5000, now), "just now", "a clock skew into the future is not negative");
});

test("formatBytes / formatRate use SI units", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(999), "999 B");
  assert.equal(formatBytes(1234), "1.23 KB");
  assert.equal(formatBytes(34_500_000), "34.5 MB");
  assert.equal(formatBytes(512_000_000_000), "512 GB");
  assert.equal(formatBytes(-1), "—");
  assert.equal(formatRate(70_000_000), "70.0 MB/s");
  assert.equal(formatRate(NaN), "—");
});

test("formatDuration and formatMs", () => {
  assert.equal(formatDuration(null), "—");
  assert.equal(formatDuration(45), "45s");
  assert.equal(formatDuration(200), "3m 20s");
  assert.equal(formatDuration(3900), "1h 05m");
  assert.equal(formatMs(850), "850 ms");
  assert.equal(formatMs(1250), "1.25 s");
});

test("distanceBits is the bit length of an XOR distance", () => {
  assert.equal(distanceBits("00".repeat(32)), 0);
  assert.equal(distanceBits("00".repeat(31) + "01"), 1);
  assert.equal(distanceBits("00".repeat(31) + "ff"), 8);
  assert.equal(distanceBits("80" + "00".repeat(31)), 256);
  assert.equal(distanceBits("0x1" + "0".repeat(63)), 253);
  assert.equal(formatDistance("00".repeat(32)), "0");
  assert.equal(formatDistance("80" + "00".repeat(31)), "2^255");
  assert.equal(formatDistance("00".repeat(31) + "01"), "2^0");
});

test("normalizeKey accepts 64 hex digits only", () => {
  const k = "AB".repeat(32);
  assert.equal(normalizeKey(` 0x${k} `), k.toLowerCase());
  assert.equal(normalizeKey("ab".repeat(31)), undefined);
  assert.equal(normalizeKey("zz".repeat(32)), undefined);
});

test("validateHostPort", () => {
  assert.equal(validateHostPort("127.0.0.1:7420"), undefined);
  assert.equal(validateHostPort("node.example.org:1"), undefined);
  assert.equal(validateHostPort("[::1]:7420"), undefined);
  assert.match(validateHostPort("127.0.0.1") ?? "", /HOST:PORT/);
  assert.match(validateHostPort("h:70000") ?? "", /out of range/);
});

test("pluralize", () => {
  assert.equal(pluralize(1, "peer"), "1 peer");
  assert.equal(pluralize(0, "peer"), "0 peers");
  assert.equal(pluralize(2, "entry", "entries"), "2 entries");
});
