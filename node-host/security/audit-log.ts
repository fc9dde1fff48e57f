// The fetch audit: who asked this node for which of its own shares, when, and whether it was served.
//
// Append-only and tamper-evident: each entry carries the hash of the one before it and the node's
// Ed25519 signature over its own hash, so an edited, reordered or removed entry breaks the chain
// from that point (verify() says where). Kept in DATA_DIR/audit.jsonl, one JSON line per entry,
// appended with fsync. Bounded: past maxEntries the oldest half is dropped in one atomic rewrite;
// the first entry kept still names its predecessor's hash, so the rest stays checkable.

import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { toHex } from "../dht/id";
import { writeFileAtomic } from "../util/fs-atomic";
import { Identity, SignatureVerifier } from "./identity";

export type AuditOutcome = "served" | "refused";

export interface AuditEntry {
  seq: number;
  time: number;
  contentId: string;
  /** The requesting node's ID. */
  node: string;
  outcome: AuditOutcome;
  /** Hash (hex) of the previous entry; 64 zeros for the first entry ever written. */
  prev: string;
  /** Hash (hex) of this entry: SHA-256 over prev and the fields above. */
  hash: string;
  /** The node's signature (base64) over `hash`. */
  sig: string;
}

const FILE = "audit.jsonl";
const GENESIS = "0".repeat(64);
/** A node asking for the same content again within this window is not logged again. */
const REPEAT_WINDOW_MS = 60_000;

function entryHash(e: Omit<AuditEntry, "hash" | "sig">): string {
  const canonical = JSON.stringify([e.seq, e.time, e.contentId, e.node, e.outcome, e.prev]);
  return createHash("sha256").update(canonical).digest("hex");
}

export class AuditLog {
  /** The newest entry, which the next one links to, and how many entries the file holds. */
  private last: AuditEntry | undefined;
  private count = 0;
  private readonly recent = new Map<string, number>();
  private readonly file: string;

  constructor(
    dataDir: string,
    private readonly identity: Identity,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    this.file = path.join(dataDir, FILE);
    this.load();
  }

  // The entries stay in the file, read when asked for (rarely): held in memory, the 10,000 a busy
  // node keeps took about 5 MiB of heap for good.
  private load(): void {
    const entries = this.readEntries();
    this.last = entries[entries.length - 1];
    this.count = entries.length;
    this.endTornLine();
  }

  private readEntries(): AuditEntry[] {
    let text: string;
    try {
      text = fs.readFileSync(this.file, "utf8");
    } catch {
      return []; // no log yet
    }
    const entries: AuditEntry[] = [];
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      try {
        entries.push(JSON.parse(line) as AuditEntry);
      } catch {
        // a torn last line (crash mid-append) is dropped; verify() reports anything worse
      }
    }
    return entries;
  }

  /** Ends a line torn by a crash mid-append, so that the next entry starts a line of its own. */
  private endTornLine(): void {
    let size = 0;
    try {
      size = fs.statSync(this.file).size;
    } catch {
      return;
    }
    if (size === 0) return;
    const fd = fs.openSync(this.file, "r+");
    try {
      const lastByte = Buffer.alloc(1);
      fs.readSync(fd, lastByte, 0, 1, size - 1);
      if (lastByte[0] !== 0x0a) fs.writeSync(fd, "\n", size);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Logs a request for one of this node's shares (repeats within a minute are folded into one). */
  record(requester: Buffer, contentId: Buffer, outcome: AuditOutcome): void {
    const node = toHex(requester);
    const content = toHex(contentId);
    const key = `${node}:${content}:${outcome}`;
    const now = this.now();
    if ((this.recent.get(key) ?? -Infinity) > now - REPEAT_WINDOW_MS) return;
    this.recent.set(key, now);
    if (this.recent.size > 4096) this.recent.clear();
    const last = this.last;
    const body = { seq: (last?.seq ?? 0) + 1, time: now, contentId: content, node, outcome, prev: last?.hash ?? GENESIS };
    const hash = entryHash(body);
    const entry: AuditEntry = { ...body, hash, sig: this.identity.sign(Buffer.from(hash, "hex")).toString("base64") };
    this.last = entry;
    if (this.count + 1 > this.maxEntries) {
      const kept = [...this.readEntries(), entry].slice(-Math.floor(this.maxEntries / 2));
      writeFileAtomic(this.file, kept.map((e) => JSON.stringify(e) + "\n").join(""), 0o600);
      this.count = kept.length;
      return;
    }
    this.count++;
    const fd = fs.openSync(this.file, "a", 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(entry) + "\n");
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Entries, oldest first; only those for `contentId` when given. */
  list(contentId?: string): AuditEntry[] {
    return forContent(this.readEntries(), contentId);
  }

  /** Entries (only those for `contentId` when given) and the chain's check, from one read of the file. */
  read(contentId?: string): { entries: AuditEntry[]; firstBadSeq: number | null } {
    const entries = this.readEntries();
    const firstBadSeq = this.firstBad(entries);
    return { entries: forContent(entries, contentId), firstBadSeq };
  }

  /** Checks the chain and every signature; returns the seq of the first bad entry, or null. */
  verify(verifier = new SignatureVerifier()): number | null {
    return this.firstBad(this.readEntries(), verifier);
  }

  private firstBad(entries: AuditEntry[], verifier = new SignatureVerifier()): number | null {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      const { hash, sig, ...body } = e;
      const linked = i === 0 || e.prev === entries[i - 1].hash;
      const signed = typeof sig === "string" && verifier.verify(this.identity.publicKey, Buffer.from(hash ?? "", "hex"), Buffer.from(sig, "base64"));
      if (!linked || entryHash(body) !== hash || !signed) return typeof e.seq === "number" ? e.seq : i + 1;
    }
    return null;
  }
}

function forContent(entries: AuditEntry[], contentId?: string): AuditEntry[] {
  return contentId ? entries.filter((e) => e.contentId === contentId.toLowerCase()) : entries;
}
