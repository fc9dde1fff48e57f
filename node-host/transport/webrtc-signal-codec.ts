// WebRTC offers and answers in a DHT signalling payload (at most 1000 bytes). A data-channel-only
// session description from node-datachannel carries six facts that differ between sessions: DTLS
// fingerprint, setup role, ICE ufrag and password, and the candidates (gathered up front, not
// trickled). Only those travel: the fingerprint as 32 raw bytes, the rest as text lines compressed
// with deflateRaw; the receiver rebuilds a full SDP from a fixed template. With host candidates
// only a description is ~150 bytes. If a host has so many addresses that it still does not fit,
// the lowest-priority candidates are left out (ICE needs only one pair that works), so one
// request/reply exchange is always enough.

import { deflateRawSync, inflateRawSync } from "node:zlib";

export type SignalKind = "offer" | "answer";

export interface CompactDescription {
  kind: SignalKind;
  /** SHA-256 of the sender's DTLS certificate. */
  fingerprint: Buffer;
  setup: "actpass" | "active" | "passive";
  ufrag: string;
  pwd: string;
  /** Candidate attributes without the "a=candidate:" prefix, best first. */
  candidates: string[];
}

const VERSION = 1;
const KIND_BYTE: Record<SignalKind, number> = { offer: 1, answer: 2 };
const FINGERPRINT_BYTES = 32;
const MAX_TEXT_BYTES = 16 * 1024;
const ICE_CHARS = /^[A-Za-z0-9+/]{1,256}$/;
// The address must be an IP literal: a host name would make the receiver resolve names a peer chose.
const CANDIDATE = /^[A-Za-z0-9+/]{1,32} \d{1,3} (?:udp|tcp|UDP|TCP) \d{1,10} (?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:]{2,39}) \d{1,5} typ [a-z]{1,8}(?: [\x21-\x7e]{1,64})*$/;
const SETUPS = new Set(["actpass", "active", "passive"]);

export class SignalFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SignalFormatError";
  }
}

/** Extracts what has to travel from a local description produced by node-datachannel. */
export function compactFromSdp(kind: SignalKind, sdp: string): CompactDescription {
  const attr = (name: string) => {
    const m = new RegExp(`^a=${name}:(.+)$`, "m").exec(sdp);
    if (!m) throw new SignalFormatError(`local description has no ${name}`);
    return m[1].trim();
  };
  const [algorithm, hex] = attr("fingerprint").split(" ");
  if (algorithm.toLowerCase() !== "sha-256") throw new SignalFormatError(`unsupported fingerprint algorithm ${algorithm}`);
  const candidates = [...sdp.matchAll(/^a=candidate:(.+)$/gm)].map((m) => m[1].trim());
  candidates.sort((a, b) => priority(b) - priority(a));
  return { kind, fingerprint: fingerprintBytes(hex), setup: attr("setup") as CompactDescription["setup"], ufrag: attr("ice-ufrag"), pwd: attr("ice-pwd"), candidates };
}

function priority(candidate: string): number {
  return Number(candidate.split(" ")[3]) || 0;
}

export function fingerprintBytes(colonHex: string): Buffer {
  const b = Buffer.from(colonHex.replace(/:/g, ""), "hex");
  if (b.length !== FINGERPRINT_BYTES) throw new SignalFormatError("malformed DTLS fingerprint");
  return b;
}

/** Encodes within maxBytes, leaving out the lowest-priority candidates if it must. */
export function encodeSignal(d: CompactDescription, maxBytes: number): Buffer {
  for (let n = d.candidates.length; n >= 1; n--) {
    const text = [d.setup, d.ufrag, d.pwd, ...d.candidates.slice(0, n)].join("\n");
    const out = Buffer.concat([Buffer.from([VERSION, KIND_BYTE[d.kind]]), d.fingerprint, deflateRawSync(text, { level: 9 })]);
    if (out.length <= maxBytes) return out;
  }
  throw new SignalFormatError(d.candidates.length ? `not even one candidate fits in ${maxBytes} bytes` : "no ICE candidates were gathered");
}

/** Decodes and validates a peer's payload; throws SignalFormatError on anything unexpected. */
export function decodeSignal(payload: Buffer, expected: SignalKind): CompactDescription {
  if (payload.length < 2 + FINGERPRINT_BYTES + 1 || payload[0] !== VERSION) throw new SignalFormatError("not a bulk signalling payload");
  if (payload[1] !== KIND_BYTE[expected]) throw new SignalFormatError(`expected an ${expected}`);
  let text: string;
  try {
    text = inflateRawSync(payload.subarray(2 + FINGERPRINT_BYTES), { maxOutputLength: MAX_TEXT_BYTES }).toString("latin1");
  } catch {
    throw new SignalFormatError("signalling payload does not inflate");
  }
  const [setup, ufrag, pwd, ...candidates] = text.split("\n");
  if (!SETUPS.has(setup) || !ICE_CHARS.test(ufrag ?? "") || !ICE_CHARS.test(pwd ?? "")) throw new SignalFormatError("malformed ICE parameters");
  if (candidates.length === 0 || !candidates.every((c) => CANDIDATE.test(c))) throw new SignalFormatError("malformed ICE candidates");
  const fingerprint = Buffer.from(payload.subarray(2, 2 + FINGERPRINT_BYTES));
  return { kind: expected, fingerprint, setup: setup as CompactDescription["setup"], ufrag, pwd, candidates };
}

/** A full SDP for node-datachannel's setRemoteDescription (one data-channel m-section, mid 0). */
export function sdpFromCompact(d: CompactDescription): string {
  const fp = (d.fingerprint.toString("hex").toUpperCase().match(/../g) ?? []).join(":");
  return [
    "v=0",
    "o=- 0 0 IN IP4 0.0.0.0",
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "c=IN IP4 0.0.0.0",
    "a=mid:0",
    "a=sendrecv",
    "a=sctp-port:5000",
    "a=max-message-size:262144",
    `a=setup:${d.setup}`,
    `a=ice-ufrag:${d.ufrag}`,
    `a=ice-pwd:${d.pwd}`,
    `a=fingerprint:sha-256 ${fp}`,
    ...d.candidates.map((c) => `a=candidate:${c}`),
    "a=end-of-candidates",
    "",
  ].join("\r\n");
}
