// Who may read each content this node holds: its audience (anyone, members of some teams, or
// unstated), recorded when the node shares a file or accepts a replica, and looked up for every
// object it is asked to send. A chunk's audience is that of the contents listing it (a chunk in two
// contents may be sent to the readers of either). Saved in DATA_DIR/audiences.jsonl, one line per
// change (util/json-journal.ts).

import * as path from "node:path";
import { toHex } from "../dht/id";
import { Audience } from "../transport/bulk-protocol";
import { JsonJournal } from "../util/json-journal";

const FILE = "audiences.jsonl";
/** The whole-map JSON file of earlier versions, migrated on first open. */
const LEGACY_FILE = "audiences.json";

type SavedAudience = "public" | "unstated" | string[];

/** What is saved per content: its audience and the chunks it lists (hex). */
interface Saved {
  a: SavedAudience;
  c: string[];
}

const isHexList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string" && /^[0-9a-f]{64}$/.test(x));
const isSaved = (v: unknown): v is Saved => {
  const { a, c } = (v ?? {}) as Partial<Saved>;
  return (a === "public" || a === "unstated" || isHexList(a)) && isHexList(c);
};

interface Entry {
  audience: Audience;
  chunks: string[];
}

function save(a: Audience): SavedAudience {
  return a.kind === "teams" ? a.teams.map(toHex) : a.kind;
}

function load(a: SavedAudience): Audience {
  if (a === "public" || a === "unstated") return { kind: a };
  return { kind: "teams", teams: a.map((t) => Buffer.from(t, "hex")) };
}

/** One audience for an object in several contents: public if any is, else every team named, else unstated. */
function union(list: Audience[]): Audience {
  if (list.some((a) => a.kind === "public")) return { kind: "public" };
  const teams = new Map<string, Buffer>();
  for (const a of list) if (a.kind === "teams") for (const t of a.teams) teams.set(toHex(t), t);
  return teams.size > 0 ? { kind: "teams", teams: [...teams.values()] } : { kind: "unstated" };
}

export class AudienceIndex {
  private readonly contents = new Map<string, Entry>();
  /** Chunk (hex) → the contents (hex) listing it. */
  private readonly chunkOwners = new Map<string, Set<string>>();

  private constructor(private readonly journal: JsonJournal<Saved>) {}

  /** Reads DATA_DIR's index; contents it does not name (none saved yet, unreadable) count as "unstated" until shared or offered again. */
  static load(dataDir: string): AudienceIndex {
    const journal = JsonJournal.open(path.join(dataDir, FILE), { mode: 0o600, isValue: isSaved, legacyFile: path.join(dataDir, LEGACY_FILE) });
    const index = new AudienceIndex(journal);
    for (const [content, e] of journal.entries) index.remember(content, load(e.a), e.c);
    return index;
  }

  /** Records a content's audience and the chunks it lists (a later call for the same content replaces it). */
  set(contentId: Buffer, audience: Audience, chunkIds: Buffer[]): void {
    const content = toHex(contentId);
    const chunks = chunkIds.map(toHex);
    this.journal.set(content, { a: save(audience), c: chunks });
    this.remember(content, audience, chunks);
  }

  /** The audience of a content (by its manifest id). */
  ofContent(contentId: Buffer): Audience | null {
    return this.contents.get(toHex(contentId))?.audience ?? null;
  }

  /** The audience of any object: a manifest's own, a chunk's from the contents listing it; null when unknown. */
  of(objectId: Buffer): Audience | null {
    const hex = toHex(objectId);
    const own = this.contents.get(hex);
    if (own) return own.audience;
    const owners = this.chunkOwners.get(hex);
    if (!owners) return null;
    return union([...owners].map((c) => this.contents.get(c)!.audience));
  }

  private remember(content: string, audience: Audience, chunks: string[]): void {
    const old = this.contents.get(content);
    for (const c of old?.chunks ?? []) this.chunkOwners.get(c)?.delete(content);
    this.contents.set(content, { audience, chunks });
    for (const c of chunks) {
      const owners = this.chunkOwners.get(c) ?? new Set<string>();
      owners.add(content);
      this.chunkOwners.set(c, owners);
    }
  }
}
