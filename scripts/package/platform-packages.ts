// The native binaries of a .vsix for one target. extension/build.mjs ships, beside the bundled
// node-host, the packages with native parts that it uses, as installed on this machine: so they
// include this machine's platform packages (@node-datachannel/linux-x64-gnu,
// @napi-rs/blake-hash-linux-x64-gnu). For a target, each such platform package is replaced by the
// target's own, chosen by the "os", "cpu" and "libc" fields that package-lock.json records for every
// platform's package, and fetched from the npm registry at the version and integrity recorded there.

import * as fs from "node:fs";
import * as path from "node:path";
import { fetchTarball, type PackageVersion } from "./npm-fetch";
import { unpackNpmTarball } from "./tar-reader";
import type { VsixTarget } from "./targets";

/** What package-lock.json (lockfile version 2 or 3) records of an installed package. */
export interface LockEntry {
  version: string;
  integrity?: string;
  os?: string[];
  cpu?: string[];
  libc?: string[];
}

export interface Lockfile {
  packages: Record<string, LockEntry>;
}

export type PlatformPackage = PackageVersion & Pick<LockEntry, "os" | "cpu" | "libc">;

/** The plan for one target: the platform packages it gets, and the native packages with none for it. */
export interface TargetPlan {
  target: VsixTarget;
  /** Platform packages to put in (one per native package). */
  add: PlatformPackage[];
  /** Every platform package of the native packages (any platform's), to take out first. */
  remove: string[];
  /** Native packages that ship no binary for this target. */
  missing: string[];
}

/** Top-level package names in a node_modules folder ("name" and "@scope/name"). */
function packageNames(modulesDir: string): string[] {
  const names: string[] = [];
  for (const entry of fs.readdirSync(modulesDir)) {
    if (!entry.startsWith("@")) names.push(entry);
    else for (const inner of fs.readdirSync(path.join(modulesDir, entry))) names.push(`${entry}/${inner}`);
  }
  return names;
}

/** The platform packages a package picks from at run time: its optional dependencies that name an os and a cpu. */
export function platformChoices(optionalDependencies: Record<string, string>, lock: Lockfile): PlatformPackage[] {
  const choices: PlatformPackage[] = [];
  for (const name of Object.keys(optionalDependencies)) {
    const entry = lock.packages[`node_modules/${name}`];
    if (entry?.os && entry.cpu) choices.push({ name, version: entry.version, integrity: entry.integrity, os: entry.os, cpu: entry.cpu, libc: entry.libc });
  }
  return choices;
}

/** The choice for `target`: its os and cpu, and its libc where the package names one. Null if none. */
export function choiceFor(choices: PlatformPackage[], target: VsixTarget): PlatformPackage | null {
  const fits = choices.filter((c) => c.os!.includes(target.os) && c.cpu!.includes(target.cpu) && (!c.libc || !target.libc || c.libc.includes(target.libc)));
  if (fits.length > 1) throw new Error(`several packages fit ${target.name}: ${fits.map((f) => f.name).join(", ")}`);
  return fits[0] ?? null;
}

/** What `modulesDir` (a staged out/node_modules) needs to become the target's. */
export function planTarget(modulesDir: string, target: VsixTarget, lock: Lockfile): TargetPlan {
  const plan: TargetPlan = { target, add: [], remove: [], missing: [] };
  for (const name of packageNames(modulesDir)) {
    const pkg = JSON.parse(fs.readFileSync(path.join(modulesDir, name, "package.json"), "utf8")) as { optionalDependencies?: Record<string, string> };
    const choices = platformChoices(pkg.optionalDependencies ?? {}, lock);
    if (!choices.length) continue; // JavaScript only, or a platform package itself
    plan.remove.push(...choices.map((c) => c.name));
    const choice = choiceFor(choices, target);
    if (choice) plan.add.push(choice);
    else plan.missing.push(name);
  }
  return plan;
}

/** Carries out a plan on `modulesDir`: every platform package out, the target's in (fetched into `cacheDir`). */
export function applyPlan(modulesDir: string, plan: TargetPlan, cacheDir: string): void {
  for (const name of plan.remove) fs.rmSync(path.join(modulesDir, name), { recursive: true, force: true });
  for (const scope of fs.readdirSync(modulesDir)) {
    const dir = path.join(modulesDir, scope);
    if (scope.startsWith("@") && fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
  }
  for (const pkg of plan.add) unpackNpmTarball(fetchTarball(pkg, cacheDir), path.join(modulesDir, pkg.name));
}
