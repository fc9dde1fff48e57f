// Builds the extension's .vsix packages, one per VS Code target (`npm run package` for this
// machine, `npm run package:all` for every target whose native packages all ship a binary). Each
// carries the bundled extension and node-host and exactly its own platform's native binaries,
// fetched from the npm registry (scripts/package/platform-packages.ts).
//
// The extension is built once, in production mode, into a staging folder (not out/, which the
// tests and the development build use), holding only what the .vsix takes; then, target by target,
// the staged node_modules gets that target's platform packages and vsce packs the folder.
//
// Usage: node dist/scripts/package-vsix.js [--target NAME]... [--all] [-o FILE] [--out-dir DIR]
//   --target NAME  a VS Code target (win32-x64, darwin-arm64, alpine-x64, …); default: this machine's
//   --all          every target; those a native package has no binary for are skipped, and said so
//   -o FILE        where the one .vsix goes (one target only)
//   --out-dir DIR  where the .vsix files go, named peershare-TARGET-VERSION.vsix (default: the project)

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { applyPlan, planTarget, type Lockfile, type TargetPlan } from "./package/platform-packages";
import { currentTarget, targetNamed, VSIX_TARGETS, type VsixTarget } from "./package/targets";

const ROOT = path.resolve(__dirname, "..", "..");
/** Downloaded platform packages, kept between runs (node_modules/.cache is the usual place for such). */
export const DEFAULT_CACHE_DIR = path.join(ROOT, "node_modules", ".cache", "peershare-vsix");
/** What the .vsix takes besides out/ (.vscodeignore decides within it). */
const STAGED = ["package.json", "README.md", "CHANGELOG.md", ".vscodeignore", "extension/media"];

export interface PackageOptions {
  targets: VsixTarget[];
  /** Folder for peershare-TARGET-VERSION.vsix files. */
  outDir: string;
  /** Exact output file (one target only). */
  outFile?: string;
  cacheDir?: string;
  log?: (line: string) => void;
}

export interface PackageResult {
  built: { target: string; file: string }[];
  skipped: { target: string; why: string }[];
}

/** Builds the production extension into a fresh staging folder and returns it. */
function stage(log: (line: string) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-vsix-"));
  for (const item of STAGED) fs.cpSync(path.join(ROOT, item), path.join(dir, item), { recursive: true });
  log("building the extension (production) …");
  execFileSync(process.execPath, [path.join(ROOT, "extension", "build.mjs"), "extension", "node-host", "webview", "--production", "--out", path.join(dir, "out")], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return dir;
}

/** vsce's own packaging, in-process (it writes what it packs to the log). */
async function vscePack(cwd: string, target: string, packagePath: string): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const vsce = require("@vscode/vsce") as { createVSIX(options: Record<string, unknown>): Promise<void> };
  await vsce.createVSIX({ cwd, target, packagePath, dependencies: false, skipLicense: true, allowMissingRepository: true });
}

/** Builds a .vsix for each target that every native package has a binary for. */
export async function packageVsix(options: PackageOptions): Promise<PackageResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  if (options.outFile && options.targets.length !== 1) throw new Error("-o names one file: give one target");
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as Lockfile;
  const version = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version;
  const result: PackageResult = { built: [], skipped: [] };
  const dir = stage(log);
  try {
    const modules = path.join(dir, "out", "node_modules");
    const plans: TargetPlan[] = options.targets.map((t) => planTarget(modules, t, lock));
    for (const plan of plans) {
      const name = plan.target.name;
      if (plan.missing.length) {
        const why = `${plan.missing.join(" and ")} ${plan.missing.length > 1 ? "ship" : "ships"} no binary for ${name}`;
        result.skipped.push({ target: name, why });
        log(`${name}: skipped (${why})`);
        continue;
      }
      applyPlan(modules, plan, options.cacheDir ?? DEFAULT_CACHE_DIR);
      const file = path.resolve(options.outFile ?? path.join(options.outDir, `peershare-${name}-${version}.vsix`));
      fs.mkdirSync(path.dirname(file), { recursive: true });
      log(`${name}: ${plan.add.map((p) => `${p.name}@${p.version}`).join(", ")}`);
      await vscePack(dir, name, file);
      result.built.push({ target: name, file });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { target: { type: "string", multiple: true }, all: { type: "boolean" }, out: { type: "string", short: "o" }, "out-dir": { type: "string" } },
  });
  const here = currentTarget();
  let targets: VsixTarget[];
  if (values.all) targets = [...VSIX_TARGETS];
  else if (values.target?.length) targets = values.target.map(targetNamed);
  else if (here) targets = [here];
  else throw new Error(`VS Code has no target for ${process.platform}-${process.arch}; name one with --target`);
  const result = await packageVsix({ targets, outDir: path.resolve(values["out-dir"] ?? ROOT), outFile: values.out });
  for (const b of result.built) console.log(`${b.target.padEnd(14)} ${path.relative(process.cwd(), b.file) || b.file}`);
  for (const s of result.skipped) console.log(`${s.target.padEnd(14)} skipped: ${s.why}`);
  // a target asked for by name that cannot be built is a failure; under --all a skip is expected
  return !values.all && result.skipped.length ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(`package: ${err.message}`);
      process.exit(1);
    },
  );
}
