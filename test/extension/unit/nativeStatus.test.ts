import { test } from "node:test";
import assert from "node:assert/strict";
import type { NativeStatus } from "../../../node-host/rpc/api-types";
import { escapeMarkdown, nativeStatusSuffix, nativeStatusTooltip } from "../../../extension/nativeStatus";

const ALL: NativeStatus = { webrtc: { available: true }, blake3: { native: true } };
const NO_WEBRTC: NativeStatus = { webrtc: { available: false, reason: "node-datachannel does not load on linux-arm: Cannot load native addon" }, blake3: { native: true } };
const NO_BLAKE3: NativeStatus = { webrtc: { available: true }, blake3: { native: false, reason: "@napi-rs/blake-hash is not installed" } };

test("a node with every native part, or one that does not say (older), shows nothing extra", () => {
  for (const native of [ALL, undefined]) {
    assert.equal(nativeStatusSuffix(native), "");
    assert.equal(nativeStatusTooltip(native), "");
  }
});

test("without WebRTC the status bar says TLS only, and the tooltip why", () => {
  assert.equal(nativeStatusSuffix(NO_WEBRTC), " · TLS only");
  assert.match(nativeStatusTooltip(NO_WEBRTC), /^\n\n⚠ TLS only: WebRTC is unavailable \\\(node\\-datachannel does not load on linux\\-arm: Cannot load native addon\\\)/);
});

test("without native BLAKE3 only the tooltip tells (sharing works, more slowly)", () => {
  assert.equal(nativeStatusSuffix(NO_BLAKE3), "");
  assert.match(nativeStatusTooltip(NO_BLAKE3), /BLAKE3 in JavaScript: the native BLAKE3 is unavailable \\\(@napi\\-rs\/blake\\-hash is not installed\\\)/);
  assert.equal(nativeStatusTooltip({ webrtc: NO_WEBRTC.webrtc, blake3: NO_BLAKE3.blake3 }).split("\n\n⚠").length - 1, 2);
});

test("reasons are shown literally, not as Markdown", () => {
  assert.equal(escapeMarkdown("C:\\Users\\a_b\\*x*.node [1](y)"), "C:\\\\Users\\\\a\\_b\\\\\\*x\\*\\.node \\[1\\]\\(y\\)");
});
