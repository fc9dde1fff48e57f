// What a node runs without, in words: one sentence for each native part that did not load, for
// `peershare id` and the VS Code status bar (NodeInfo.native; see platform/native-module.ts).

import type { NativeStatus } from "../rpc/api-types";

/** One line per native part the node runs without; empty when all loaded (or the node does not say). */
export function nativeStatusLines(native: NativeStatus | undefined): string[] {
  if (!native) return [];
  const lines: string[] = [];
  if (!native.webrtc.available) lines.push(`TLS only: WebRTC is unavailable (${native.webrtc.reason}); a peer behind NAT is reached only by a connection back or through a relay`);
  if (!native.blake3.native) lines.push(`BLAKE3 in JavaScript: the native BLAKE3 is unavailable (${native.blake3.reason}); the same ids, computed more slowly`);
  return lines;
}

/** True when the node runs its bulk transfers over TLS only. */
export function isTlsOnly(native: NativeStatus | undefined): boolean {
  return native?.webrtc.available === false;
}
