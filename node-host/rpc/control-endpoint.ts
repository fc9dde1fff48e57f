// Where a node's local control channel listens, and where the CLI finds it.
//
// Linux and macOS: a Unix socket, DATA_DIR/rpc.sock, or where that path is longer than a socket
// address holds (sun_path: 104 bytes on macOS, 108 on Linux, so at most 100 bytes here, counted in
// UTF-8) `peershare-<16 hex of the data dir's path>.sock` in the temp dir.
//
// Windows: a named pipe, \\.\pipe\peershare-<16 hex of the data dir's path>-<16 random hex>. The
// random part is made once per data dir and kept in DATA_DIR/rpc.pipe, so the name is stable (a second
// node for the same data dir finds the pipe taken and refuses to start, as a second Unix node finds
// the socket), and no other account can know it in advance: pipe names are one namespace for the
// whole machine, and a pipe another account made first under a name the CLI computes would get the
// CLI's token and could answer in the node's place. The data dir's path is hashed after Windows'
// own normalisation (drive letter and case, / or \, trailing separators), so every spelling of one
// folder gives one pipe; a copied data dir (another path) gets a pipe of its own.
//
// A running node records its endpoint in DATA_DIR/node.json; clients use that record.

import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeFileAtomic } from "../util/fs-atomic";

export type ControlEndpoint = { kind: "unix-socket"; path: string } | { kind: "named-pipe"; path: string };

/** Longest socket path used, in bytes: under sun_path's 104 (macOS, BSDs) and 108 (Linux) with room to spare. */
export const MAX_SOCKET_PATH_BYTES = 100;
/** Holds the data dir's pipe name on Windows (made at the first start, kept). */
export const PIPE_FILE = "rpc.pipe";
const PIPE_PREFIX = "\\\\.\\pipe\\peershare-";
const PIPE_NAME = /^\\\\\.\\pipe\\peershare-([0-9a-f]{16})-([0-9a-f]{16})$/;

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The Unix socket of a data dir (unchanged from 0.1.0, so its nodes and CLIs find each other). */
export function socketPathFor(dataDir: string, tmpDir = os.tmpdir()): string {
  const dir = path.resolve(dataDir);
  const inDir = path.join(dir, "rpc.sock");
  if (Buffer.byteLength(inDir) <= MAX_SOCKET_PATH_BYTES) return inDir;
  const name = `peershare-${sha256Hex(dir).slice(0, 16)}.sock`;
  const inTmp = path.join(tmpDir, name);
  // a temp dir with a very long path (TMPDIR set so) would not do either
  return Buffer.byteLength(inTmp) <= MAX_SOCKET_PATH_BYTES ? inTmp : path.posix.join("/tmp", name);
}

/** 16 hex of a Windows data dir's path as Windows compares paths: absolute, normalised, case folded. */
export function windowsDataDirKey(dataDir: string): string {
  return sha256Hex(path.win32.resolve(dataDir).toLowerCase()).slice(0, 16);
}

/** The pipe name of a Windows data dir with the given random part (16 hex). */
export function pipeNameFor(dataDir: string, random: string): string {
  return `${PIPE_PREFIX}${windowsDataDirKey(dataDir)}-${random}`;
}

/** True when `name` is a well-formed pipe name made for this data dir. */
export function isPipeNameFor(name: string, dataDir: string): boolean {
  const m = PIPE_NAME.exec(name);
  return m !== null && m[1] === windowsDataDirKey(dataDir);
}

/** The pipe name kept in the data dir, when there is a valid one for this path. */
function keptPipeName(dataDir: string): string | null {
  let kept: string;
  try {
    kept = fs.readFileSync(path.join(dataDir, PIPE_FILE), "utf8").trim();
  } catch {
    return null;
  }
  return isPipeNameFor(kept, dataDir) ? kept : null;
}

/** Where a node for `dataDir` listens. On Windows the first call makes DATA_DIR/rpc.pipe. */
export function listenEndpoint(dataDir: string, platform: NodeJS.Platform = process.platform): ControlEndpoint {
  if (platform !== "win32") return { kind: "unix-socket", path: socketPathFor(dataDir) };
  let name = keptPipeName(dataDir);
  if (!name) {
    name = pipeNameFor(dataDir, randomBytes(8).toString("hex"));
    writeFileAtomic(path.join(dataDir, PIPE_FILE), `${name}\n`, 0o600);
  }
  return { kind: "named-pipe", path: name };
}

/**
 * Where to reach the node for `dataDir`: the endpoint its node.json records (`recorded`), else where
 * it would listen; null when no node can be listening (Windows, no pipe name kept yet).
 */
export function connectEndpoint(dataDir: string, recorded: unknown, platform: NodeJS.Platform = process.platform): string | null {
  if (typeof recorded === "string" && recorded !== "") return recorded;
  return platform === "win32" ? keptPipeName(dataDir) : socketPathFor(dataDir);
}
