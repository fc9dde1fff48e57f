// The node's periodic work: health checks of known peers, refresh of idle buckets, republishing
// of records, re-joining while the routing table is empty, and the jobs the node adds (repair).
// Each job runs on its own interval (configurable, so tests can run them fast) and never overlaps
// itself. Each wait is jittered by ±25%, so nodes started together drift apart instead of checking
// and sweeping in the same instant.

import { Dht } from "./dht/dht";
import { Config } from "./config";
import { Address, KnownAddress } from "./dht/transport";
import { Clock, systemClock } from "./dht/clock";
import { jittered } from "./util/jitter";

/** The settings the jobs run by (read at every run, so changes apply at once). */
export type MaintenanceConfig = Pick<Config, "healthCheckIntervalMs" | "refreshIntervalMs" | "republishIntervalMs">;

export interface JobSpec {
  name: string;
  intervalMs: () => number;
  run: () => Promise<unknown>;
}

interface Job extends JobSpec {
  name: string;
  intervalMs: () => number;
  run: () => Promise<unknown>;
  cancel?: () => void;
  running: boolean;
}

export class Maintenance {
  private jobs: Job[] = [];
  private bootstrap: Address[] = [];
  private joined = false;
  /** A bootstrap contact answered over UDP at some point (even if it gave no contacts: a DHT client). */
  bootstrapAnswered = false;
  private discoveredJoin: Promise<void> | null = null;

  /** `clock` and `random` are the system's in the product; the simulator passes virtual ones. */
  constructor(
    private readonly dht: Dht,
    private readonly config: MaintenanceConfig,
    private readonly log: (line: string) => void,
    private readonly extraJobs: JobSpec[] = [],
    private readonly clock: Clock = systemClock,
    private readonly random: () => number = Math.random,
  ) {}

  start(bootstrap: Address[]): void {
    this.bootstrap = bootstrap;
    const c = this.config;
    this.jobs = [
      // while alone, retry the bootstrap contacts at the health-check pace
      { name: "rejoin", intervalMs: () => c.healthCheckIntervalMs, run: () => (this.dht.table.size === 0 ? this.join() : Promise.resolve()), running: false },
      { name: "health", intervalMs: () => c.healthCheckIntervalMs, run: () => this.dht.checkHealth(), running: false },
      { name: "refresh", intervalMs: () => Math.max(100, Math.floor(c.refreshIntervalMs / 4)), run: () => this.dht.refreshBuckets(), running: false },
      { name: "republish", intervalMs: () => Math.max(100, Math.floor(c.republishIntervalMs / 4)), run: () => this.dht.republish(), running: false },
      ...this.extraJobs.map((j) => ({ ...j, running: false })),
    ];
    this.reschedule();
    void this.join();
  }

  async join(): Promise<{ reached: number }> {
    if (this.bootstrap.length === 0) return { reached: 0 };
    const result = await this.dht.join(this.bootstrap);
    if (result.reached > 0) this.bootstrapAnswered = true;
    if (result.reached === 0) this.log(`no bootstrap contact answered (${this.bootstrap.map((b) => `${b.host}:${b.port}`).join(", ")}); retrying`);
    else if (!this.joined) {
      this.joined = true;
      this.log(`joined through ${result.reached} bootstrap contact(s); ${this.dht.table.size} peers known`);
    }
    return result;
  }

  /**
   * A contact found by other means than the configuration (LAN discovery, a link's address hints),
   * its key known: pinged, and put into the routing table by its verified answer. One already in the
   * table and heard from within a health-check interval is not pinged again. When it is the first
   * contact of a node that was alone, the node then joins through it (own-ID lookup, bucket
   * refresh), as through a bootstrap contact. It is not kept for the rejoin job. `source` says
   * where it was found, for the log.
   */
  async addBootstrap(contact: KnownAddress, source = "found on the LAN"): Promise<"added" | "known" | "unreachable"> {
    const entry = this.dht.table.get(contact.id);
    if (entry && entry.failures === 0 && entry.lastSeen >= this.clock.now() - this.config.healthCheckIntervalMs) return "known";
    const alone = this.dht.table.size === 0;
    try {
      await this.dht.pingAddress(contact);
    } catch {
      return "unreachable";
    }
    if (alone && this.dht.table.size > 0 && !this.discoveredJoin) {
      this.discoveredJoin = this.dht
        .join([])
        .then(() => this.log(`joined through a contact ${source}; ${this.dht.table.size} peers known`))
        .catch((err: Error) => this.log(`join through a contact ${source} failed: ${err.message}`))
        .finally(() => (this.discoveredJoin = null));
    }
    return entry ? "known" : "added";
  }

  /** (Re)arms every job's timer with its current interval. */
  reschedule(): void {
    for (const job of this.jobs) this.arm(job);
  }

  /** The job's next run, one jittered interval from now; the one after is armed as it starts. */
  private arm(job: Job): void {
    job.cancel?.();
    job.cancel = this.clock.setTimer(() => {
      if (!this.jobs.includes(job)) return; // stopped
      this.arm(job);
      void this.runJob(job);
    }, jittered(job.intervalMs(), 0.25, 1, this.random));
  }

  private async runJob(job: Job): Promise<void> {
    if (job.running) return;
    job.running = true;
    try {
      await job.run();
    } catch (err) {
      this.log(`${job.name} failed: ${(err as Error).message}`);
    } finally {
      job.running = false;
    }
  }

  /** Stops the timers and waits (up to waitMs) for jobs already running to finish. */
  async stop(waitMs = 2000): Promise<void> {
    const jobs = this.jobs;
    this.jobs = [];
    for (const job of jobs) job.cancel?.();
    const deadline = Date.now() + waitMs;
    while (jobs.some((j) => j.running) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }
}
