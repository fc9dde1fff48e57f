// A key → value map kept on disk as an append-only journal of JSON lines. A change appends one line
// and fsyncs it, so it costs the size of that entry; rewriting the whole map as one JSON file on
// every change cost the size of everything held (a node holding many contents rewrote megabytes,
// on the event loop, for each replica it accepted). Loading replays the lines in order, later ones
// replacing earlier ones (a deletion is a tombstone line); a line a crash left torn (the last one) is
// skipped. When the file has grown to COMPACT_FACTOR times what its live entries need, it is
// rewritten atomically with one line per entry.

import * as fs from "node:fs";
import { writeFileAtomic } from "./fs-atomic";

/** Rewrite once the file holds this many times the bytes of its live lines (and at least COMPACT_MIN_BYTES). */
const COMPACT_FACTOR = 2;
const COMPACT_MIN_BYTES = 64 * 1024;

export interface JsonJournalOptions<V> {
  /** File mode of the journal (default 0o644). */
  mode?: number;
  /** Accepts a value read back from disk; others are skipped as if absent. */
  isValue(value: unknown): value is V;
  /**
   * An older whole-map JSON file ({ key: value, ... }) to take the entries from when the journal
   * does not exist yet; it is removed once the journal holds them.
   */
  legacyFile?: string;
}

export class JsonJournal<V> {
  private readonly map = new Map<string, V>();
  /**
   * Bytes the live entries take as compaction writes them. Each entry's share is worked out again
   * when it changes rather than kept per key: a second map cost tens of bytes per content held, in
   * every journal.
   */
  private liveBytes = 0;
  private fileBytes = 0;
  /** An append failed part-way: the file may end in part of a line. */
  private mayBeTorn = false;

  private constructor(
    private readonly file: string,
    private readonly mode: number,
  ) {}

  /** Opens (reading what is there) the journal `file`. Unreadable content counts as absent. */
  static open<V>(file: string, options: JsonJournalOptions<V>): JsonJournal<V> {
    const journal = new JsonJournal<V>(file, options.mode ?? 0o644);
    let text: string | null = null;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      // no journal yet
    }
    if (text !== null) {
      journal.fileBytes = Buffer.byteLength(text);
      for (const line of text.split("\n")) journal.replay(line, options.isValue);
      // a torn last line would swallow the next append: start again from what was read
      if (!text.endsWith("\n") && text !== "") journal.compact();
      // a crash between migrating and removing the old file left it behind: the journal supersedes it
      if (options.legacyFile) fs.rmSync(options.legacyFile, { force: true });
    } else if (options.legacyFile) {
      journal.migrate(options.legacyFile, options.isValue);
    }
    return journal;
  }

  get entries(): ReadonlyMap<string, V> {
    return this.map;
  }

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  /**
   * Sets `key` and appends the change to the journal (fsynced) before returning. When the write
   * fails (a full disk), it throws and the journal keeps the value it had, in memory as on disk.
   */
  set(key: string, value: V): void {
    const line = lineOf(key, value);
    this.change(key, line, () => this.remember(key, value, Buffer.byteLength(line)));
  }

  /** Removes `key`, appending a tombstone line (fsynced); throws like set() when it cannot be written. */
  delete(key: string): void {
    if (this.map.has(key)) this.change(key, `${JSON.stringify({ k: key, deleted: true })}\n`, () => this.forget(key));
  }

  /** Applies a change to `key` in memory and persists `line`; when that fails, puts `key` back as it was. */
  private change(key: string, line: string, apply: () => void): void {
    const had = this.map.has(key);
    const old = this.map.get(key) as V;
    apply();
    try {
      this.persist(line);
    } catch (err) {
      if (had) this.remember(key, old);
      else this.forget(key);
      throw err;
    }
  }

  /**
   * Appends `line`; rewrites the whole journal instead when it has grown enough to compact, or when
   * an append failed (it may have left part of a line, which the next append would run into).
   */
  private persist(line: string): void {
    if (this.mayBeTorn || this.fileBytes + Buffer.byteLength(line) > Math.max(COMPACT_MIN_BYTES, COMPACT_FACTOR * this.liveBytes)) {
      this.compact();
      return;
    }
    const fd = fs.openSync(this.file, "a", this.mode);
    try {
      this.mayBeTorn = true;
      fs.writeSync(fd, line);
      fs.fsyncSync(fd);
      this.mayBeTorn = false;
    } finally {
      fs.closeSync(fd);
    }
    this.fileBytes += Buffer.byteLength(line);
  }

  private replay(line: string, isValue: (v: unknown) => v is V): void {
    if (line === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return; // torn by a crash mid-append
    }
    const { k, v, deleted } = (parsed ?? {}) as { k?: unknown; v?: unknown; deleted?: unknown };
    if (typeof k !== "string") return;
    if (deleted === true) this.forget(k);
    else if (isValue(v)) this.remember(k, v, Buffer.byteLength(line) + 1);
  }

  private migrate(legacyFile: string, isValue: (v: unknown) => v is V): void {
    let saved: unknown;
    try {
      saved = JSON.parse(fs.readFileSync(legacyFile, "utf8"));
    } catch {
      return; // none, or unreadable
    }
    if (typeof saved !== "object" || saved === null) return;
    for (const [k, v] of Object.entries(saved)) if (isValue(v)) this.remember(k, v);
    this.compact();
    fs.rmSync(legacyFile, { force: true });
  }

  private forget(key: string): void {
    if (!this.map.has(key)) return;
    this.liveBytes -= lineBytes(key, this.map.get(key));
    this.map.delete(key);
  }

  /** `bytes`: the size of the line that sets it, when known (written or read); worked out otherwise. */
  private remember(key: string, value: V, bytes = lineBytes(key, value)): void {
    const replaced = this.map.has(key) ? lineBytes(key, this.map.get(key)) : 0;
    this.liveBytes += bytes - replaced;
    this.map.set(key, value);
  }

  /** Rewrites the journal with one line per live entry (temp file, fsync, rename). */
  private compact(): void {
    const text = [...this.map].map(([k, v]) => lineOf(k, v)).join("");
    writeFileAtomic(this.file, text, this.mode);
    this.fileBytes = Buffer.byteLength(text);
    this.mayBeTorn = false;
  }
}

function lineOf(key: string, value: unknown): string {
  return `${JSON.stringify({ k: key, v: value })}\n`;
}

function lineBytes(key: string, value: unknown): number {
  return Buffer.byteLength(lineOf(key, value));
}
