// How far this node's clock is from its peers', learned from the timestamps of authenticated
// answers to its own requests (each answer matches a request this node sent, so it is neither
// forged nor replayed, and its round trip bounds the error: the peer stamped it between the send
// and the arrival). Datagrams carry, and are checked against, the node's clock corrected by the
// median offset of the last peers heard from, so a node whose clock runs minutes off (a laptop after
// sleep, a VM, WSL) still stamps its datagrams in its peers' time and keeps a tight freshness window
// for replay protection. Corrections go up to MAX_CORRECTION_MS; a clock further off than that is
// reported (`peershare id`, the log, the extension's status) and left alone: peers drop what it sends.

import { LruMap } from "../util/lru";

/** The largest correction (peers whose clocks differ by up to 10 minutes work together). */
export const MAX_CORRECTION_MS = 10 * 60_000;
/** Beyond the largest correction, what is left of the offset is tolerated up to this (within the 30 s freshness window). */
const BEYOND_SLACK_MS = 20_000;
/** Offsets smaller than this are left alone (round-trip noise, ordinary drift). */
const IGNORE_BELOW_MS = 2000;
/** A change of the offset by this much is logged again. */
const LOG_STEP_MS = 5000;
/** Peers whose latest offset counts toward the median. */
const PEERS_SAMPLED = 32;

export interface ClockStatus {
  /** Our clock minus the peers' (median), ms: positive when ahead, negative when behind; null before any sample. */
  offsetMs: number | null;
  /** The correction applied to our clock, ms (0 when none; at most MAX_CORRECTION_MS either way). */
  correctionMs: number;
  /** Peers the median is taken over. */
  peers: number;
}

export class ClockOffset {
  /** Peer (public key, latin1) → its clock minus ours, from its latest answer. */
  private readonly samples = new LruMap<string, number>(PEERS_SAMPLED);
  private readonly scratch = new Float64Array(PEERS_SAMPLED);
  private median: number | null = null;
  private correction = 0;
  private reported = { state: "", offsetMs: 0 };

  constructor(
    private readonly log: (line: string) => void = () => undefined,
    private readonly localNow: () => number = Date.now,
  ) {}

  /** Our clock corrected to the peers' time: what datagrams are stamped with and checked against. */
  now(): number {
    return this.localNow() + this.correction;
  }

  /**
   * An authenticated answer from `peer`, stamped `peerTimestamp` by its (corrected) clock, to a
   * request of ours that took `rttMs` there and back, arriving now.
   */
  answered(peer: Buffer, peerTimestamp: number, rttMs: number): void {
    const midpoint = this.localNow() - rttMs / 2;
    this.samples.set(peer.toString("latin1"), peerTimestamp - midpoint);
    this.update();
  }

  status(): ClockStatus {
    return { offsetMs: this.median === null ? null : -this.median, correctionMs: this.correction, peers: this.samples.size };
  }

  private update(): void {
    // runs on every answer: sorted in a reused typed array (numeric order) rather than a new array
    let n = 0;
    for (const [, offset] of this.samples.entries()) this.scratch[n++] = offset;
    const m = this.scratch.subarray(0, n).sort()[n >> 1];
    this.median = m;
    // clamped, not dropped, at the limit: a clock just past it still lands within the freshness window
    this.correction = Math.abs(m) < IGNORE_BELOW_MS ? 0 : Math.round(Math.max(-MAX_CORRECTION_MS, Math.min(MAX_CORRECTION_MS, m)));
    this.report();
  }

  /** Logs the clock's state when it changes (in step, corrected, beyond correction) or the offset moves by LOG_STEP_MS. */
  private report(): void {
    const s = this.status();
    const line = clockProblem(s);
    const state = line === null ? "in step" : beyondCorrection(s) ? "beyond" : "corrected";
    if (state === this.reported.state && Math.abs((s.offsetMs ?? 0) - this.reported.offsetMs) < LOG_STEP_MS) return;
    if (state === "in step" && this.reported.state === "") return; // nothing to say at the start
    this.reported = { state, offsetMs: s.offsetMs ?? 0 };
    this.log(line ?? "clock: in step with peers again");
  }
}

/** A sentence on the clock when it is off by IGNORE_BELOW_MS or more; null when it is in step. */
export function clockProblem(s: ClockStatus): string | null {
  if (s.offsetMs === null || Math.abs(s.offsetMs) < IGNORE_BELOW_MS) return null;
  const how = `${formatOffset(Math.abs(s.offsetMs))} ${s.offsetMs < 0 ? "behind" : "ahead of"} its peers' (median of ${s.peers})`;
  if (!beyondCorrection(s)) return `clock: this computer's clock is ${how}; corrected for peershare's messages`;
  return `clock: this computer's clock is ${how}, more than the ${MAX_CORRECTION_MS / 60_000} minutes peershare corrects for: peers drop this node's messages as stale until the system clock is set right`;
}

/** "10 min 2 s", "45 s", "3 h 20 min". */
export function formatOffset(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.round(h / 24)} days`;
}

/** A short phrase for a status bar ("clock 2 h 5 min behind") when the clock is off by more than peershare corrects; null otherwise. */
export function clockStatusText(s: ClockStatus | undefined): string | null {
  if (!s || s.offsetMs === null || !beyondCorrection(s)) return null;
  return `clock ${formatOffset(Math.abs(s.offsetMs))} ${s.offsetMs < 0 ? "behind" : "ahead"}`;
}

/** Whether the clock is further off than the correction and the freshness window make up for. */
function beyondCorrection(s: ClockStatus): boolean {
  return s.offsetMs !== null && Math.abs(s.offsetMs) > MAX_CORRECTION_MS + BEYOND_SLACK_MS;
}
