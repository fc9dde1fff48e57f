// node-datachannel, WebRTC's native half, loaded when the bulk transport starts rather than when this
// code is imported: on a platform it ships no binary for, or in an install that lost its binary, the
// node runs over TLS only (bulk-client.ts) and `peershare id` and the VS Code status say so.

import type * as NodeDataChannel from "node-datachannel";
import { optionalNative } from "../platform/native-module";

/** The part of node-datachannel the WebRTC path uses. */
export type WebRtcModule = Pick<typeof NodeDataChannel, "PeerConnection">;

export const WEBRTC_PACKAGE = "node-datachannel";

/** node-datachannel, or why it does not load here (tried once per process). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const loadWebRtc = optionalNative<WebRtcModule>(WEBRTC_PACKAGE, () => require("node-datachannel"));
