// Fetches one exact package version's tarball from the npm registry with `npm pack` (npm's own
// client, its configured registry and its cache), keeps it in a cache folder so later runs need no
// network, and checks it against the integrity recorded in package-lock.json.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export interface PackageVersion {
  name: string;
  version: string;
  /** Subresource-integrity string ("sha512-BASE64"), as package-lock.json records it; unchecked if absent. */
  integrity?: string;
}

/** `npm pack`'s file name for a package version: "@scope/name" → "scope-name-1.2.3.tgz". */
export function tarballName(name: string, version: string): string {
  return `${name.replace(/^@/, "").replace("/", "-")}-${version}.tgz`;
}

/** True when `data` has the integrity (any of its sha256/384/512 hashes matches); true when none is given. */
export function matchesIntegrity(data: Buffer, integrity: string | undefined): boolean {
  if (!integrity) return true;
  return integrity.split(/\s+/).some((item) => {
    const m = /^(sha256|sha384|sha512)-(.+)$/.exec(item);
    return m !== null && createHash(m[1]).update(data).digest("base64") === m[2];
  });
}

/** Runs npm with these arguments: the npm running this script when there is one, else `npm` on PATH. */
function runNpm(args: string[]): string {
  const npmCli = process.env.npm_execpath;
  if (npmCli && /\.(c?js)$/.test(npmCli)) return execFileSync(process.execPath, [npmCli, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return execFileSync(process.platform === "win32" ? "npm.cmd" : "npm", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], shell: process.platform === "win32" });
}

/** The tarball of `pkg`, from `cacheDir` or else the registry (then kept there). Throws on an integrity mismatch. */
export function fetchTarball(pkg: PackageVersion, cacheDir: string): Buffer {
  fs.mkdirSync(cacheDir, { recursive: true });
  const file = path.join(cacheDir, tarballName(pkg.name, pkg.version));
  if (fs.existsSync(file)) {
    const kept = fs.readFileSync(file);
    if (matchesIntegrity(kept, pkg.integrity)) return kept;
    fs.rmSync(file); // damaged or replaced: fetch again
  }
  const packed = JSON.parse(runNpm(["pack", `${pkg.name}@${pkg.version}`, "--pack-destination", cacheDir, "--json", "--silent"])) as { filename: string }[];
  const data = fs.readFileSync(path.join(cacheDir, packed[0].filename));
  if (!matchesIntegrity(data, pkg.integrity)) throw new Error(`${pkg.name}@${pkg.version} from the registry does not match package-lock.json's integrity`);
  return data;
}
