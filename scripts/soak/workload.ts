// A team's everyday work on the fleet, all the time until the deadline: nodes share new files of
// mixed sizes and fetch files others shared (each fetched file checked against its SHA-256 and
// removed). An op whose node the churn stopped meanwhile is counted as interrupted, not failed.

import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Fleet, isUp, lifeOf, SoakNode, sleep } from "./fleet";
import { Ledger } from "./ledger";
import { Prng } from "../../test/fuzz/prng";

const KiB = 1024;
/** File sizes, by weight: mostly small, some of a few MiB, a rare larger one. */
const SIZES: Record<string, number> = { [1 * KiB]: 20, [16 * KiB]: 20, [200 * KiB]: 20, [1024 * KiB]: 15, [3 * 1024 * KiB]: 10, [700]: 10, [12 * 1024 * KiB]: 5 };

export interface WorkloadOptions {
  /** Ops in flight at once. */
  parallel: number;
  /** Pause between one op's end and the next's start, per lane, ms. */
  pauseMs: number;
}

export class Workload {
  private readonly filesDir: string;
  private readonly outDir: string;
  private seq = 0;

  constructor(
    private readonly fleet: Fleet,
    private readonly ledger: Ledger,
    private readonly rng: Prng,
    root: string,
    /** Nodes that do the team's work (the holdings node only holds; the auditor comes at the end). */
    private readonly workers: (n: SoakNode) => boolean,
  ) {
    this.filesDir = path.join(root, "files");
    this.outDir = path.join(root, "fetched");
    fs.mkdirSync(this.filesDir, { recursive: true });
    fs.mkdirSync(this.outDir, { recursive: true });
  }

  async run(until: number, options: WorkloadOptions): Promise<void> {
    const lane = async () => {
      while (Date.now() < until) {
        // about two fetches for every share once there is something to fetch
        if (this.ledger.files.length < 3 || this.rng.chance(0.35)) await this.share();
        else await this.fetch();
        await sleep(options.pauseMs);
      }
    };
    await Promise.all(Array.from({ length: options.parallel }, lane));
  }

  private pick(): SoakNode | null {
    const live = this.fleet.live(this.workers);
    return live.length ? this.rng.pick(live) : null;
  }

  async share(node = this.pick()): Promise<void> {
    if (!node) return;
    const size = Number(this.rng.weighted(SIZES));
    const file = path.join(this.filesDir, `f${++this.seq}.bin`);
    const bytes = randomBytes(size);
    fs.writeFileSync(file, bytes);
    const life = lifeOf(node);
    try {
      const share = await this.ledger.track(`${node.name} share ${path.basename(file)}`, () => this.fleet.call(node, "content.share", { path: file, force: true }, 120_000));
      this.ledger.addFile({ link: share.link, contentId: share.contentId, size, sha256: sha256(bytes), sharer: node.name, sharedAt: Date.now() });
      this.ledger.ok("share");
    } catch (err) {
      if (!isUp(node) || lifeOf(node) !== life) this.ledger.interrupted++;
      else this.ledger.fail("share", err);
    } finally {
      fs.rmSync(file, { force: true });
    }
  }

  private async fetch(): Promise<void> {
    const node = this.pick();
    if (!node) return;
    const file = this.rng.pick(this.ledger.files);
    const life = lifeOf(node);
    const out = path.join(this.outDir, `${node.name}-${++this.seq}`);
    try {
      await this.ledger.track(`${node.name} fetch ${file.contentId.slice(0, 8)} (${path.basename(out)})`, () => fetchChecked(this.fleet, node, file, out));
      this.ledger.ok("fetch");
    } catch (err) {
      if (!isUp(node) || lifeOf(node) !== life) this.ledger.interrupted++;
      else this.ledger.fail("fetch", err);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }
}

/** Fetches a shared file on `node` into the directory `out` and checks every byte against its SHA-256. */
export async function fetchChecked(fleet: Fleet, node: SoakNode, file: { link: string; sha256: string }, out: string, timeoutMs = 180_000): Promise<void> {
  fs.mkdirSync(out, { recursive: true });
  const result = await fleet.call(node, "content.fetch", { link: file.link, out: out + path.sep }, timeoutMs);
  const got = sha256(fs.readFileSync(result.path));
  if (got !== file.sha256) throw new Error(`fetched bytes differ from the shared file (sha256 ${got.slice(0, 12)}…, shared ${file.sha256.slice(0, 12)}…)`);
}

export const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
