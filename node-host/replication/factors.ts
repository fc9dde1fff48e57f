// The replication factor of each content this node holds, kept in DATA_DIR/replication.jsonl: set by
// the sharer (peershare share --replication N) and passed on to every replica holder with the
// content, so whichever holder repairs it aims for the sharer's r rather than its own default.

import * as path from "node:path";
import { JsonJournal } from "../util/json-journal";

const FILE = "replication.jsonl";
/** The whole-map JSON file of earlier versions, migrated on first open. */
const LEGACY_FILE = "replication.json";
export const MAX_REPLICATION = 20;

const isFactor = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_REPLICATION;

export class ReplicationFactors {
  private readonly byContent: JsonJournal<number>;

  constructor(
    dataDir: string,
    /** The node's default (the `replication` setting), read at each use since it can change live. */
    private readonly fallback: () => number,
  ) {
    this.byContent = JsonJournal.open(path.join(dataDir, FILE), { isValue: isFactor, legacyFile: path.join(dataDir, LEGACY_FILE) });
  }

  get(contentId: string): number {
    return this.byContent.get(contentId) ?? this.fallback();
  }

  /** Whether a factor was recorded for the content: it was shared or offered as a content of its own. */
  has(contentId: string): boolean {
    return this.byContent.get(contentId) !== undefined;
  }

  set(contentId: string, r: number): void {
    const clamped = Math.min(MAX_REPLICATION, Math.max(1, Math.floor(r)));
    if (this.byContent.get(contentId) === clamped) return;
    this.byContent.set(contentId, clamped);
  }
}
