// The replication factor of each content this node holds, kept in DATA_DIR/replication.json: set by
// the sharer (peershare share --replication N) and passed on to every replica holder with the
// content, so whichever holder repairs it aims for the sharer's r rather than its own default.

import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../util/fs-atomic";

const FILE = "replication.json";
export const MAX_REPLICATION = 20;

export class ReplicationFactors {
  private readonly byContent = new Map<string, number>();
  private readonly file: string;

  constructor(
    dataDir: string,
    /** The node's default (the `replication` setting), read at each use since it can change live. */
    private readonly fallback: () => number,
  ) {
    this.file = path.join(dataDir, FILE);
    try {
      for (const [id, r] of Object.entries(JSON.parse(fs.readFileSync(this.file, "utf8")) as Record<string, number>)) this.byContent.set(id, r);
    } catch {
      // none yet, or unreadable: the default applies
    }
  }

  get(contentId: string): number {
    return this.byContent.get(contentId) ?? this.fallback();
  }

  set(contentId: string, r: number): void {
    const clamped = Math.min(MAX_REPLICATION, Math.max(1, Math.floor(r)));
    if (this.byContent.get(contentId) === clamped) return;
    this.byContent.set(contentId, clamped);
    writeFileAtomic(this.file, JSON.stringify(Object.fromEntries(this.byContent)));
  }
}
