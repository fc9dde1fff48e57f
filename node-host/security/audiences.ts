// Who may read each content this node holds: its audience (anyone, members of some teams, or
// unstated), recorded when the node shares a file or accepts a replica, and looked up for every
// object it is asked to send. A chunk's audience is that of the contents listing it (a chunk in two
// contents may be sent to the readers of either). Saved in DATA_DIR/audiences.json, atomically.

import * as fs from "node:fs";
import * as path from "node:path";
import { toHex } from "../dht/id";
import { Audience } from "../transport/bulk-protocol";
import { writeFileAtomic } from "../util/fs-atomic";

const FILE = "audiences.json";

type SavedAudience = "public" | "unstated" | string[];

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

  private constructor(private readonly file: string) {}

  static load(dataDir: string): AudienceIndex {
    const index = new AudienceIndex(path.join(dataDir, FILE));
    try {
      const saved = JSON.parse(fs.readFileSync(index.file, "utf8")) as Record<string, { a: SavedAudience; c: string[] }>;
      for (const [content, e] of Object.entries(saved)) index.remember(content, load(e.a), e.c);
    } catch {
      // none yet, or unreadable: contents then count as "unstated" until shared or offered again
    }
    return index;
  }

  /** Records a content's audience and the chunks it lists (a later call for the same content replaces it). */
  set(contentId: Buffer, audience: Audience, chunkIds: Buffer[]): void {
    this.remember(toHex(contentId), audience, chunkIds.map(toHex));
    const out: Record<string, { a: SavedAudience; c: string[] }> = {};
    for (const [content, e] of this.contents) out[content] = { a: save(e.audience), c: e.chunks };
    writeFileAtomic(this.file, JSON.stringify(out), 0o600);
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
