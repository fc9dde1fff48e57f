// The verbs that move a file or folder: share (also --once, from a one-off node until one fetch is
// done), fetch, cat and ls LINK (through the running node, or a one-off node when none runs:
// one-shot-run.ts).

import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { parseShareLink } from "../cas";
import { FetchInfo, ShareInfo, TransferInfo } from "../rpc/api-types";
import { connectLocal } from "../rpc/local-socket";
import { MAX_REPLICATION } from "../replication/factors";
import { MAX_FOLDER_ENTRIES } from "../cas/folder-manifest";
import { MAX_COMPONENT_BYTES, MAX_FOLDER_DEPTH, MAX_PATH_BYTES } from "../cas/folder-path";
import { Flags, intFlag, needArgs, UsageError } from "./args";
import { routeText } from "../nat/reach-text";
import { formatEntries, humanBytes, progressLine } from "./format";
import { shareOnce, withNodeOrOneShot } from "./one-shot-run";
import { print, Verb, withNode } from "./verb";

/**
 * Runs a fetch on the node whose control socket is in `dataDir`, showing progress: a bar on a
 * terminal; with --json one JSON event per line, and one "hint" event for each of the link's
 * address hints, used or skipped and why.
 */
async function fetchWithProgress(flags: Flags, dataDir: string, link: string, out: string | undefined, cache: boolean): Promise<FetchInfo> {
  const client = await connectLocal(dataDir);
  const tty = process.stderr.isTTY && !flags.json;
  const transferId = randomBytes(8).toString("hex"); // ours, so progress events can be told apart
  let hintsShown = 0;
  client.onNotification((method, params) => {
    const t = params as TransferInfo;
    if (method !== "transfer.progress" || t.id !== transferId) return;
    if (flags.json) {
      for (const h of (t.hints ?? []).slice(hintsShown)) process.stdout.write(JSON.stringify({ event: "hint", ...h }) + "\n");
      hintsShown = Math.max(hintsShown, t.hints?.length ?? 0);
      process.stdout.write(JSON.stringify({ event: "progress", ...t }) + "\n");
    } else if (tty) process.stderr.write(`\r${progressLine(t)}`);
  });
  try {
    return await client.call("content.fetch", { link, out, transferId, cache }, 24 * 3600_000);
  } finally {
    if (tty) process.stderr.write("\n");
    client.close();
  }
}

/** A link checked here first (a malformed one is refused before any node starts); whether it carries address hints. */
export function hasHints(link: string): boolean {
  return parseShareLink(link).hints !== null;
}

function shareText(r: ShareInfo): string {
  const readers = r.public ? "public" : `private, encrypted${r.teams.length ? `, for team ${r.teams.join(", ")}` : ""}`;
  const what = r.folder ? `folder ${r.name}/ (${r.folder.files} file(s), ${r.folder.dirs} folder(s), ${humanBytes(r.size)}` : `${r.name} (${humanBytes(r.size)}`;
  return `shared ${what}, ${r.chunks} chunk(s), ${readers})\n  ${r.link}`;
}

/** What a folder share left out, as lines after its text ("" for a file, or when nothing was). */
function leftOutText(r: ShareInfo): string {
  const leftOut = r.folder ? formatEntries("left out", r.folder.leftOut) : "";
  return leftOut ? `\n${leftOut}` : "";
}

export const transferVerbs: Verb[] = [
  {
    name: "share",
    summary: [["share PATH", "share a file or a folder (private unless --public); prints its link  [--replication N] [--once]"]],
    help: `Usage: peershare share PATH [--public] [--team NAME]... [--replication N] [--force] [--no-hints] [--json]
       peershare share PATH --once [--public] [--force] [--no-hints] [--bootstrap HOST:PORT]... [--json]

Adds the file or folder to this node's store, announces this node as its holder, and copies it to
the N-1 live nodes closest to its content ID (N: --replication, else the "replication" setting,
default 3), which keep it and repair lost copies. A private share (the default) is encrypted: its
link carries the key, and other nodes only ever hold ciphertext (a folder's names too).
--public stores plaintext that anyone with the content ID can read.
--team NAME  only members of this team may fetch it (repeat for several; default: every team of
             this node). With one team, teammates' copies of the same file deduplicate.
A node in no team serves its shares to any node that has the link.
The link carries address hints: where this node can be reached (or, behind NAT, its rendezvous
nodes), so that a node with nothing configured fetches from the link alone. --no-hints leaves them
out. A peershare that predates address hints refuses a link with them: cut it at "&h=" for that one.
--once shares from a throwaway node (a new identity, in no team, nothing kept) instead of the
running one, without copies, and serves until one node has fetched the whole file or folder, or
Ctrl-C.
A file that git ignores, that looks like a secret (.env, private keys, API tokens) or that is
larger than the "shareWarnMB" setting is not shared unless --force is given.

A folder: every file in it is shared (identical files and chunks are stored once, also across
shares), and a folder manifest lists names, sizes and executable bits. Left out, and listed: files
git ignores and files that look like secrets (unless --force), .git (unless --force), symbolic links
to directories or to anything outside the folder (a link to a file inside it is shared as that
file), sockets and devices, and names some system could not write as themselves ("a:b", "con.txt",
a trailing dot). A folder git ignores as a whole, or whose files are over "shareWarnMB" together,
is not shared unless --force. Limits: ${MAX_FOLDER_ENTRIES.toLocaleString("en-US")} files and folders, ${MAX_FOLDER_DEPTH} levels, ${MAX_COMPONENT_BYTES} bytes per name, ${MAX_PATH_BYTES} bytes per path.`,
    run: async (flags, args) => {
      needArgs(args, 1, "share PATH");
      const params = { path: path.resolve(args[0]), public: flags.public === true, force: flags.force === true };
      if (flags.once) {
        if (flags.team?.length || flags.replication) throw new UsageError("--once shares from a throwaway node: no --team, no --replication");
        return shareOnce(flags, params, (r) =>
          print(flags, r, () => `${shareText(r)}\n  serving it until one node has fetched it (Ctrl-C to stop); fetch it with:\n  peershare fetch '${r.link}'${leftOutText(r)}`),
        );
      }
      const replication = intFlag(flags.replication, "replication", 1, MAX_REPLICATION);
      const r = await withNode(flags, "content.share", { ...params, replication, teams: flags.team, hints: flags["no-hints"] !== true });
      print(flags, r, () => `${shareText(r)}\n  announced to ${r.announcedTo} node(s); copied to ${r.replicas} of ${r.replication - 1} other node(s)\n  fetch it with: peershare fetch '${r.link}'${leftOutText(r)}`);
    },
  },
  {
    name: "fetch",
    summary: [["fetch ID|LINK", "fetch a shared file or folder from its holders (no running node needed)  [-o PATH] [--cache]"]],
    help: `Usage: peershare fetch ID|LINK [-o PATH] [--cache] [--bootstrap HOST:PORT]... [--json]

Fetches a shared file from its holders (several at once), verifying every chunk. -o names a
directory or a file (default: DATA_DIR/downloads/, or the current directory without a running
node; missing directories are created). The file is written as .NAME.peershare-part beside its
target and renamed into place when whole: a fetch that was interrupted, failed or paused resumes
from the chunks that file holds when run again to the same target.
A shared folder goes into -o PATH itself (created if missing; with a trailing "/", into PATH under
its own name; default DATA_DIR/downloads/NAME, or NAME in the current directory without a running
node), its files fetched several at once, each written as a file is. Run again to the same PATH, a
fetch keeps the files found complete (checked against their manifests) and resumes the rest. An
entry that could be written outside PATH (a name with "..", an absolute path, a drive letter, a
device name, a clash of upper and lower case on a case-insensitive file system, a symbolic link in
PATH on the way) is refused and listed, and so is a file in PATH that differs from the shared one;
the exit status is then 1. "peershare ls LINK" lists a folder without fetching it.
With no node running for the data dir, a one-off node runs for the fetch and leaves when it is
done: the data dir's identity if it has one (its teams too), else a throwaway one. It finds the
holders through the link's address hints, LAN discovery and the configured (or --bootstrap) nodes.
--cache also keeps the chunks in the node's store (as cache, up to cacheSizeMB), so fetching the
same content again needs no holder; without it the file is the only copy.
--json prints progress as one JSON event per line (and one "hint" event for each of the link's
address hints: used, or skipped and why), then the result.`,
    run: async (flags, args) => {
      needArgs(args, 1, "fetch ID|LINK");
      const hinted = hasHints(args[0]);
      // a trailing separator means "into this directory", even if it does not exist yet
      const given = flags.out ? path.resolve(flags.out) + (/[\\/]$/.test(flags.out) ? path.sep : "") : undefined;
      const r = await withNodeOrOneShot(flags, !hinted, (dataDir, oneShot) => fetchWithProgress(flags, dataDir, args[0], given ?? (oneShot ? process.cwd() + path.sep : undefined), flags.cache === true));
      if (r.folder?.refused.length) {
        process.exitCode = 1;
        process.stderr.write(`${formatEntries("refused, not written", r.folder.refused)}\n`);
      }
      if (flags.json) return void process.stdout.write(JSON.stringify({ event: "done", ...r }) + "\n");
      const reused = r.bytesReused ? `, ${humanBytes(r.bytesReused)} already here` : "";
      const files = r.folder ? `; ${r.folder.filesFetched} file(s) fetched, ${r.folder.filesKept} already complete` : "";
      const routes = r.routes?.length ? `\n  ${r.routes.map((h) => `${h.node.slice(0, 12)}…: ${routeText(h)}`).join("\n  ")}` : "";
      process.stdout.write(`${r.path}\n  ${humanBytes(r.size)} from ${r.holdersUsed} holder(s) in ${(r.durationMs / 1000).toFixed(1)} s${reused}${files}${routes}\n`);
    },
  },
  {
    name: "cat",
    summary: [["cat ID|LINK", "write a shared file to stdout (a one-off node without a running one)"]],
    help: `Usage: peershare cat ID|LINK [--bootstrap HOST:PORT]...

Fetches a shared file and writes it to stdout. Its chunks stay in the node's cache (up to
cacheSizeMB), so a second cat of the same content needs no holder. With no node running for the
data dir, a one-off node runs for it, as for fetch.`,
    run: async (flags, args) => {
      needArgs(args, 1, "cat ID|LINK");
      const hinted = hasHints(args[0]);
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-cat-"));
      try {
        const r = await withNodeOrOneShot(flags, !hinted, async (dataDir) => {
          const info = await withNode({ ...flags, "data-dir": dataDir }, "content.info", { link: args[0] });
          if (info.kind === "folder") throw new Error(`${info.name} is a shared folder: list it with "peershare ls LINK", fetch it with "peershare fetch LINK -o DIR"`);
          return fetchWithProgress({ ...flags, json: false }, dataDir, args[0], path.join(tmp, "content"), true);
        });
        await pipeline(fs.createReadStream(r.path), process.stdout);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    },
  },
];
