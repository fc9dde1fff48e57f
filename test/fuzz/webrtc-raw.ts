// A raw WebRTC data channel to a node's bulk endpoint, set up the way a peer does it (offer in a
// signed DHT `signal` request, answer in its reply; see transport/webrtc-bulk.ts), but handing the
// channel to the fuzzer instead of a BulkSession: every message sent is the fuzzer's choice.

import { PeerConnection, type DataChannel } from "node-datachannel";
import { sha256 } from "../../node-host/dht/id";
import { Dht } from "../../node-host/dht/dht";
import { Contact } from "../../node-host/dht/messages";
import { compactFromSdp, decodeSignal, encodeSignal, sdpFromCompact } from "../../node-host/transport/webrtc-signal-codec";
import { BulkConn, receiver } from "./bulk-frames";

const CHANNEL_LABEL = "peershare-bulk/1";
const BINDING_CONTEXT = Buffer.from("peershare bulk webrtc v1\0");

/** Wraps a node-datachannel callback: an exception thrown into native code would abort the process. */
function guard<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch {
      // nothing a fuzzing client needs to report
    }
  };
}

export interface DataChannelConn extends BulkConn {
  /** Sends one text message (the target must treat it as bytes, or close). */
  writeText(text: string): void;
  /** Messages sent so far. */
  messages(): number;
}

/**
 * Opens a data channel to `target` through `dht`'s signalling and waits until it is open. A set-up
 * that fails is tried again (on loopback libdatachannel now and then fails one at once, as
 * webrtc-bulk.ts notes).
 */
export async function connectWebRtc(dht: Dht, target: Contact, attempts = 3): Promise<DataChannelConn> {
  for (let i = 1; ; i++) {
    try {
      return await connectOnce(dht, target, 10_000);
    } catch (err) {
      if (i >= attempts) throw err;
    }
  }
}

async function connectOnce(dht: Dht, target: Contact, timeoutMs: number): Promise<DataChannelConn> {
  const pc = new PeerConnection("fuzz", { iceServers: [] });
  const dc: DataChannel = pc.createDataChannel(CHANNEL_LABEL);
  let closed = false;
  let sent = 0;
  let resolveClosed: () => void = () => undefined;
  const closedP = new Promise<void>((r) => (resolveClosed = r));
  const rx = receiver(() => close());
  const close = () => {
    if (closed) return;
    closed = true;
    rx.settleHello(false);
    try {
      dc.close();
    } catch {
      // already closed
    }
    try {
      pc.close();
    } catch {
      // already closed
    }
    resolveClosed();
  };
  const opened = new Promise<void>((resolve, reject) => {
    dc.onOpen(guard(() => resolve()));
    dc.onClosed(guard(() => {
      close();
      reject(new Error("data channel closed before it opened"));
    }));
    dc.onError(guard(() => {
      close();
      reject(new Error("data channel error"));
    }));
  });
  opened.catch(() => undefined);
  dc.onMessage(guard((msg: string | Buffer | ArrayBuffer) => rx.push(typeof msg === "string" ? Buffer.from(msg) : Buffer.isBuffer(msg) ? msg : Buffer.from(msg))));
  pc.onStateChange(guard((state: string) => (state === "failed" || state === "closed" || state === "disconnected") && close()));
  let timer: NodeJS.Timeout | undefined;
  let binding: Buffer = Buffer.alloc(0);
  try {
    await Promise.race([
      (async () => {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 3000);
          const done = () => {
            clearTimeout(t);
            resolve();
          };
          pc.onGatheringStateChange(guard((s: string) => s === "complete" && done()));
          if (pc.gatheringState() === "complete") done();
        });
        const offer = compactFromSdp("offer", pc.localDescription()!.sdp);
        const answer = decodeSignal(await dht.signal(target, encodeSignal(offer, 1000)), "answer");
        pc.setRemoteDescription(sdpFromCompact(answer), "answer");
        await opened;
        binding = sha256(BINDING_CONTEXT, offer.fingerprint, answer.fingerprint);
      })(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no data channel within ${timeoutMs} ms`)), timeoutMs))),
    ]);
  } catch (err) {
    close();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return {
    binding,
    write: (pieces) => {
      for (const p of pieces) {
        if (closed) return;
        try {
          dc.sendMessageBinary(p);
          sent++;
        } catch {
          close();
        }
      }
    },
    writeText: (text) => {
      if (closed) return;
      try {
        dc.sendMessage(text);
        sent++;
      } catch {
        close();
      }
    },
    messages: () => sent,
    helloSeen: rx.helloSeen,
    replies: rx.state.replies,
    get received() {
      return rx.state.received;
    },
    closed: closedP,
    isClosed: () => closed,
    close,
  };
}
