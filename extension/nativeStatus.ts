// What the status bar shows of a node that runs without one of its native parts (NodeInfo.native,
// node-host/platform/native-status.ts): "TLS only" beside the peer count when WebRTC is missing
// (peers behind NAT are out of reach, which a user notices), and a sentence per missing part in
// the tooltip. A node that does not report it (older) shows nothing extra.

import type { NativeStatus } from "../node-host/rpc/api-types";
import { isTlsOnly, nativeStatusLines } from "../node-host/platform/native-status";

/** Appended to the status bar text. */
export function nativeStatusSuffix(native: NativeStatus | undefined): string {
  return isTlsOnly(native) ? " · TLS only" : "";
}

/** Appended to the status bar tooltip (Markdown): one paragraph per missing part. */
export function nativeStatusTooltip(native: NativeStatus | undefined): string {
  return nativeStatusLines(native)
    .map((line) => `\n\n⚠ ${escapeMarkdown(line)}`)
    .join("");
}

/** The text as Markdown shows it literally (reasons carry paths and module names). */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, "\\$&");
}
