// This node's own shares with their links, kept in DATA_DIR/shares.jsonl (a journal: util/json-journal.ts).
// The list was one JSON array rewritten whole on every share, which cost the size of every share
// made so far (about 3 MB per share at 10,000 shares); now a share appends one line. An older data
// dir's shares.json is taken in at the first start.

import * as fs from "node:fs";
import * as path from "node:path";
import { JsonJournal } from "../util/json-journal";
import { writeFileAtomic } from "../util/fs-atomic";

export interface OwnShare {
  contentId: string;
  link: string;
  name: string;
  size: number;
  sharedAt: number;
  /** A shared folder (absent: a file). */
  folder?: true;
}

const FILE = "shares.jsonl";
const LEGACY_FILE = "shares.json";

const isOwnShare = (v: unknown): v is OwnShare => {
  const s = v as Partial<OwnShare> | null;
  return typeof s === "object" && s !== null && typeof s.contentId === "string" && typeof s.link === "string" && typeof s.name === "string" && typeof s.size === "number";
};

export class OwnShares {
  private constructor(private readonly journal: JsonJournal<OwnShare>) {}

  /** Opens the list in `dataDir`; an unreadable one counts as empty (it is used for display and announcing). */
  static open(dataDir: string): OwnShares {
    const legacyFile = path.join(dataDir, LEGACY_FILE);
    keyLegacyList(legacyFile);
    return new OwnShares(JsonJournal.open(path.join(dataDir, FILE), { isValue: isOwnShare, legacyFile, mode: 0o600 }));
  }

  get(contentId: string): OwnShare | undefined {
    return this.journal.get(contentId);
  }

  has(contentId: string): boolean {
    return this.journal.get(contentId) !== undefined;
  }

  /** Records a share (appended and fsynced; throws when it cannot be written, e.g. a full disk). */
  add(share: OwnShare): void {
    this.journal.set(share.contentId, share);
  }

  values(): OwnShare[] {
    return [...this.journal.entries.values()];
  }
}

/**
 * The older list is an array of shares; the journal takes in a legacy file as an object keyed by
 * content ID, so the array is rewritten as one first (atomically: a crash leaves one or the other).
 */
function keyLegacyList(file: string): void {
  let saved: unknown;
  try {
    saved = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return; // none, unreadable, or taken in already
  }
  if (!Array.isArray(saved)) return;
  writeFileAtomic(file, JSON.stringify(Object.fromEntries(saved.filter(isOwnShare).map((s) => [s.contentId, s]))));
}
