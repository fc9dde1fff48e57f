// Checks a file before it is shared, so nothing leaves the node by mistake: a file git ignores (a
// build output, a local config), a file that looks like a secret (by name, or by well-known key and
// token patterns in its first bytes), or a file larger than the configured limit. The caller asks
// the user (VS Code: a modal; CLI: refuses unless --force) and shares only once confirmed.

import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { PublishWarning } from "../rpc/api-types";
import { readFileHead } from "../util/read-head";


/** Bytes read from the start of a file to look for secrets: keys and tokens sit near the top. */
export const SNIFF_BYTES = 64 * 1024;

const SECRET_NAMES: [RegExp, string][] = [
  [/^\.env(\..+)?$/i, "an environment file (.env)"],
  [/^id_(rsa|dsa|ecdsa|ed25519)$/i, "an SSH private key"],
  [/\.(pem|key|p12|pfx|jks|keystore)$/i, "a key or certificate store"],
  [/^\.?(npmrc|pypirc|netrc|git-credentials)$/i, "a credentials file"],
  [/^credentials(\.json)?$/i, "a credentials file"],
  [/^(secrets?|\.secrets?)(\.[a-z]+)?$/i, "a secrets file"],
];

/** One Buffer per distinct literal (a head is searched for each once). */
const LITERALS = new Map<string, Buffer>();
function literalBytes(literal: string): Buffer {
  return LITERALS.get(literal) ?? LITERALS.set(literal, Buffer.from(literal, "latin1")).get(literal)!;
}

/**
 * Each pattern with literals one of which every match of it contains: a pattern is tried only on a
 * head that holds one of its literals. Buffer.indexOf finds a literal at memory speed, while decoding
 * 64 KiB and running nine regular expressions over it cost ~0.2-0.4 ms per file, seconds for a folder
 * of 10,000 small files (where the literals almost never occur). The literals are of three or four
 * bytes: longer needles were searched two to four times slower, and "gh" (GitHub's tokens, now
 * "ghp_" and the like) is in two of five files of random bytes and most English text.
 */
const SECRET_PATTERNS: [RegExp, string, Buffer[]][] = (
  [
    [/-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/, "a private key", ["KEY-"]],
    [/-----BEGIN OPENSSH PRIVATE KEY-----/, "an SSH private key", ["KEY-"]],
    [/\bAKIA[0-9A-Z]{16}\b/, "an AWS access key ID", ["AKIA"]],
    [/\bgh[pousr]_[A-Za-z0-9]{36,}\b/, "a GitHub token", ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]],
    [/\bgithub_pat_[A-Za-z0-9_]{40,}\b/, "a GitHub token", ["_pat"]],
    [/\bxox[abprs]-[A-Za-z0-9-]{10,}\b/, "a Slack token", ["xox"]],
    [/\bsk_live_[A-Za-z0-9]{20,}\b/, "a Stripe secret key", ["sk_l"]],
    [/\bAIza[0-9A-Za-z_-]{35}\b/, "a Google API key", ["AIza"]],
    [/\bnpm_[A-Za-z0-9]{36}\b/, "an npm token", ["npm_"]],
  ] as const
).map(([re, what, literals]) => [re, what, literals.map(literalBytes)]);

/**
 * Every literal of the content patterns, once: a head that holds none of them has no secret in it
 * (secretReason then looks at the name alone). A folder share's workers look for them as they read.
 */
export const SECRET_LITERALS: Buffer[] = [...LITERALS.values()];

/** Whether git (if installed, and the file is in a work tree) ignores the file (or directory). */
export function gitIgnores(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile("git", ["check-ignore", "-q", "--", path.basename(file)], { cwd: path.dirname(file), timeout: 5000 }, (err) => {
      // exit 0: ignored; 1: not ignored; 128 or no git: not in a work tree, nothing to say
      resolve(err === null);
    });
  });
}

/**
 * Which of `relPaths` (relative to `dir`, "/"-separated) git ignores, asked of one `git check-ignore
 * --stdin` for all of them (a process per file cost ~5 ms each: most of a share of 10,000 small
 * files). None outside a git work tree, or without git.
 */
export function gitIgnoredAmong(dir: string, relPaths: string[]): Promise<Set<string>> {
  if (relPaths.length === 0) return Promise.resolve(new Set());
  return new Promise((resolve) => {
    const child = execFile("git", ["check-ignore", "-z", "--stdin"], { cwd: dir, timeout: 120_000, maxBuffer: 64 << 20 }, (err, stdout) => {
      // exit 0: some ignored; 1: none; 128 or no git: not in a work tree, nothing to say
      resolve(new Set(err && !stdout ? [] : stdout.split("\0").filter(Boolean)));
    });
    child.stdin?.on("error", () => undefined); // git gone before reading all of it: its exit says
    child.stdin?.end(relPaths.join("\0") + "\0");
  });
}

/** Why `name` (and the first bytes of its content) looks like a secret; null when it does not. */
export function secretReason(name: string, head: Buffer): string | null {
  const byName = SECRET_NAMES.find(([re]) => re.test(name));
  if (byName) return `${name} looks like ${byName[1]}`;
  const found = new Map<Buffer, boolean>();
  const holds = (literal: Buffer) => found.get(literal) ?? found.set(literal, head.includes(literal)).get(literal)!;
  const candidates = SECRET_PATTERNS.filter(([, , literals]) => literals.some(holds));
  if (candidates.length === 0) return null;
  const text = head.toString("latin1");
  const byContent = candidates.find(([re]) => re.test(text));
  return byContent ? `${name} contains what looks like ${byContent[1]}` : null;
}

/** The first bytes of a file that secretReason() looks at; `size` (when known) lets a small file be read in one call. */
export function sniffHead(file: string, size?: number): Promise<Buffer> {
  return size !== undefined && size <= SNIFF_BYTES ? fs.promises.readFile(file) : readFileHead(file, SNIFF_BYTES);
}

/** The warning for a share (a file, or a folder's files together) larger than the limit; null when it is not. */
export function sizeWarning(name: string, size: number, limitBytes: number): PublishWarning | null {
  if (limitBytes <= 0 || size <= limitBytes) return null;
  return { kind: "large", message: `${name} is ${(size / 1048576).toFixed(1)} MiB, over the ${(limitBytes / 1048576).toFixed(0)} MiB limit (setting shareWarnMB)` };
}

/** The warning for a file or folder that git ignores as a whole. */
export function ignoredWarning(name: string): PublishWarning {
  return { kind: "git-ignored", message: `${name} is ignored by git (.gitignore): it is probably not meant to leave this machine` };
}

/** What is worth a warning before `file` is shared; empty when nothing is. */
export async function checkBeforeSharing(file: string, limitBytes: number): Promise<PublishWarning[]> {
  const warnings: PublishWarning[] = [];
  const name = path.basename(file);
  const size = (await fs.promises.stat(file)).size;
  if (await gitIgnores(file)) warnings.push(ignoredWarning(name));
  const secret = secretReason(name, SECRET_NAMES.some(([re]) => re.test(name)) ? Buffer.alloc(0) : await sniffHead(file));
  if (secret) warnings.push({ kind: "secret", message: secret });
  const large = sizeWarning(name, size, limitBytes);
  if (large) warnings.push(large);
  return warnings;
}

/** Thrown by a share that needs the user's confirmation; `warnings` says why. */
export class ShareNeedsConfirmationError extends Error {
  constructor(readonly warnings: PublishWarning[]) {
    super(`not shared: ${warnings.map((w) => w.message).join("; ")}. Share anyway with --force`);
    this.name = "ShareNeedsConfirmationError";
  }
}
