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
  private readonly entries: AuditEntry[] = [];
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

  private load(): void {
    let text: string;
    try {
      text = fs.readFileSync(this.file, "utf8");
    } catch {
      return; // no log yet
    }
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      try {
        this.entries.push(JSON.parse(line) as AuditEntry);
      } catch {
        // a torn last line (crash mid-append) is dropped; verify() reports anything worse
      }
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
    const last = this.entries[this.entries.length - 1];
    const body = { seq: (last?.seq ?? 0) + 1, time: now, contentId: content, node, outcome, prev: last?.hash ?? GENESIS };
    const hash = entryHash(body);
    const entry: AuditEntry = { ...body, hash, sig: this.identity.sign(Buffer.from(hash, "hex")).toString("base64") };
    this.entries.push(entry);
    if (this.entries.length > this.maxEntries) {
      this.entries.splice(0, this.entries.length - Math.floor(this.maxEntries / 2));
      writeFileAtomic(this.file, this.entries.map((e) => JSON.stringify(e) + "\n").join(""), 0o600);
      return;
    }
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
    return contentId ? this.entries.filter((e) => e.contentId === contentId.toLowerCase()) : [...this.entries];
  }

  /** Checks the chain and every signature; returns the seq of the first bad entry, or null. */
  verify(verifier = new SignatureVerifier()): number | null {
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i];
      const { hash, sig, ...body } = e;
      const linked = i === 0 || e.prev === this.entries[i - 1].hash;
      const signed = typeof sig === "string" && verifier.verify(this.identity.publicKey, Buffer.from(hash ?? "", "hex"), Buffer.from(sig, "base64"));
      if (!linked || entryHash(body) !== hash || !signed) return typeof e.seq === "number" ? e.seq : i + 1;
    }
    return null;
  }
}
