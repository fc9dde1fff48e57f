// Timer jitter: periodic work of nodes started together (a team's machines booted at once, a test
// network) would otherwise run in lockstep, health checks and repair sweeps of every node arriving
// in the same instant.

/** `ms` spread uniformly over ±`spread` of itself, and at least `min`. */
export function jittered(ms: number, spread = 0.25, min = 1, random: () => number = Math.random): number {
  return Math.max(min, Math.round(ms * (1 - spread + random() * 2 * spread)));
}
