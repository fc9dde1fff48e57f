// What the soak did and what came of it: every file shared (its link, size and SHA-256, who shared
// it), and every operation done or failed, by kind and by reason. Reasons are error messages with
// IDs, numbers and paths taken out, so the same failure counts once however often it happens.

export interface SharedFile {
  link: string;
  contentId: string;
  size: number;
  sha256: string;
  sharer: string;
  sharedAt: number;
}

export type OpKind = "share" | "fetch" | "join" | "leave" | "kill" | "restart" | "garbage" | "corrupt-served";

export class Ledger {
  readonly files: SharedFile[] = [];
  private readonly done = new Map<OpKind, number>();
  /** "kind: reason" → count. */
  private readonly failed = new Map<string, number>();
  /** Ops cut short because the harness stopped or killed their node meanwhile (not failures). */
  interrupted = 0;
  /** Ops under way: a label ("n8 fetch f379") → when it started. */
  private readonly running = new Map<string, number>();

  addFile(file: SharedFile): void {
    this.files.push(file);
  }

  ok(kind: OpKind, count = 1): void {
    this.done.set(kind, (this.done.get(kind) ?? 0) + count);
  }

  fail(kind: OpKind, err: unknown): void {
    const key = `${kind}: ${reasonOf(err)}`;
    this.failed.set(key, (this.failed.get(key) ?? 0) + 1);
  }

  /** Runs an op, kept in the list of ops under way while it runs (a stall then shows what waits). */
  async track<T>(label: string, op: () => Promise<T>): Promise<T> {
    this.running.set(label, Date.now());
    try {
      return await op();
    } finally {
      this.running.delete(label);
    }
  }

  /** Ops under way for longer than `ms`, oldest first, with how long ("n8 fetch f379 for 75 s"). */
  slowOps(ms: number, now = Date.now()): string[] {
    return [...this.running].filter(([, at]) => now - at > ms).map(([label, at]) => `${label} for ${((now - at) / 1000).toFixed(0)} s`);
  }

  totals(): { done: number; failed: number } {
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    return { done: sum(this.done), failed: sum(this.failed) };
  }

  doneByKind(): Record<string, number> {
    return Object.fromEntries(this.done);
  }

  failures(): [string, number][] {
    return [...this.failed.entries()].sort((a, b) => b[1] - a[1]);
  }
}

/** An error message without what varies between occurrences (IDs, numbers, paths), cut to one line. */
export function reasonOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text
    .split("\n")[0]
    .replace(/peershare:\/\/\S+/g, "LINK")
    .replace(/\/[^\s"'`]+/g, "PATH")
    .replace(/\b[0-9a-f]{8,}\b(…)?/gi, "ID")
    .replace(/\d+(\.\d+)?/g, "N")
    .slice(0, 160);
}
