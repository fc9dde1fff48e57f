// The verbs about shared files and folders: share, status, repair, fetch, cat, ls, verify, gc, and
// audit (who fetched this node's shares).

import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { FetchInfo, TransferInfo } from "../rpc/api-types";
import { connectLocal } from "../rpc/local-socket";
import { MAX_REPLICATION } from "../replication/factors";
import { MAX_FOLDER_ENTRIES } from "../cas/folder-manifest";
import { MAX_COMPONENT_BYTES, MAX_FOLDER_DEPTH, MAX_PATH_BYTES } from "../cas/folder-path";
import { dataDirOf, Flags, intFlag, needArgs, UsageError } from "./args";
import { routeText } from "../nat/reach-text";
import { formatAudit, formatEntries, formatFolderTree, formatListing, formatStatus, humanBytes, progressLine } from "./format";
import { print, Verb, VerbGroup, withNode } from "./verb";

/** Runs a fetch, showing progress (a bar on a terminal, JSON lines with --json). */
async function fetchWithProgress(flags: Flags, link: string, out: string | undefined, cache: boolean): Promise<FetchInfo> {
  const client = await connectLocal(dataDirOf(flags));
  const tty = process.stderr.isTTY && !flags.json;
  const transferId = randomBytes(8).toString("hex"); // ours, so progress events can be told apart
  client.onNotification((method, params) => {
    const t = params as TransferInfo;
    if (method !== "transfer.progress" || t.id !== transferId) return;
    if (flags.json) process.stdout.write(JSON.stringify({ event: "progress", ...t }) + "\n");
    else if (tty) process.stderr.write(`\r${progressLine(t)}`);
  });
  try {
    return await client.call("content.fetch", { link, out, transferId, cache }, 24 * 3600_000);
  } finally {
    if (tty) process.stderr.write("\n");
    client.close();
  }
}

const verbs: Verb[] = [
  {
    name: "share",
    summary: [["share PATH", "share a file or a folder (private unless --public); prints its link  [--replication N]"]],
    help: `Usage: peershare share PATH [--public] [--team NAME]... [--replication N] [--force] [--json]

Adds the file or folder to this node's store, announces this node as its holder, and copies it to
the N-1 live nodes closest to its content ID (N: --replication, else the "replication" setting,
default 3), which keep it and repair lost copies. A private share (the default) is encrypted: its
link carries the key, and other nodes only ever hold ciphertext (a folder's names too).
--public stores plaintext that anyone with the content ID can read.
--team NAME  only members of this team may fetch it (repeat for several; default: every team of
             this node). With one team, teammates' copies of the same file deduplicate.
A node in no team serves its shares to any node that has the link.
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
      const replication = intFlag(flags.replication, "replication", 1, MAX_REPLICATION);
      const r = await withNode(flags, "content.share", { path: path.resolve(args[0]), public: flags.public === true, replication, teams: flags.team, force: flags.force === true });
      const readers = r.public ? "public" : `private, encrypted${r.teams.length ? `, for team ${r.teams.join(", ")}` : ""}`;
      const what = r.folder ? `folder ${r.name}/ (${r.folder.files} file(s), ${r.folder.dirs} folder(s), ${humanBytes(r.size)}` : `${r.name} (${humanBytes(r.size)}`;
      const leftOut = r.folder ? formatEntries("left out", r.folder.leftOut) : "";
      print(flags, r, () => `shared ${what}, ${r.chunks} chunk(s), ${readers})\n  ${r.link}\n  announced to ${r.announcedTo} node(s); copied to ${r.replicas} of ${r.replication - 1} other node(s)\n  fetch it with: peershare fetch '${r.link}'${leftOut ? `\n${leftOut}` : ""}`);
    },
  },
  {
    name: "status",
    summary: [["status ID|LINK", "which live nodes hold a shared file or folder, and whether it has its r copies"]],
    help: `Usage: peershare status ID|LINK [--json]

Lists the nodes that announced they hold the file or folder, whether each answers now and holds
every chunk (for a folder: every object of it), and whether it has its r live copies.`,
    run: async (flags, args) => {
      needArgs(args, 1, "status ID|LINK");
      const r = await withNode(flags, "content.status", { link: args[0] });
      print(flags, r, () => formatStatus(r));
    },
  },
  {
    name: "repair",
    summary: [["repair ID|LINK", "copy a file or folder this node holds to more nodes now, until r keep it"]],
    help: `Usage: peershare repair ID|LINK [--json]

Repairs one shared file or folder now instead of at the next sweep: when fewer than r live nodes keep it,
this node (which must hold it) copies it to the nearest live nodes lacking it, sending only the
objects they lack, within one sweep's budget (setting repairMBPerSweep). Prints the copies made.`,
    run: async (flags, args) => {
      needArgs(args, 1, "repair ID|LINK");
      const r = await withNode(flags, "content.repair", { link: args[0] });
      const after = r.holdersBefore + r.copies;
      print(flags, r, () => (r.holdersBefore >= r.replication ? `${r.contentId.slice(0, 16)}… already has ${r.holdersBefore} of ${r.replication} live holders: nothing to do` : `${r.contentId.slice(0, 16)}…: ${r.holdersBefore} → ${after} of ${r.replication} live holders (${r.copies} copy(ies), ${humanBytes(r.bytes)} sent)${after < r.replication ? `; r not reached: ${r.shortfall ?? "too few live nodes took a copy"}` : ""}`));
    },
  },
  {
    name: "fetch",
    summary: [["fetch ID|LINK", "fetch a shared file or folder from its holders  [-o PATH] [--cache]"]],
    help: `Usage: peershare fetch ID|LINK [-o PATH] [--cache] [--json]

Fetches a shared file from its holders (several at once), verifying every chunk. -o names a
directory or a file (default: DATA_DIR/downloads/; missing directories are created). The file is
written as .NAME.peershare-part beside its target and renamed into place when whole: a fetch that
was interrupted, failed or paused resumes from the chunks that file holds when run again to the
same target.
A shared folder goes into -o PATH itself (created if missing; with a trailing "/", into PATH under
its own name; default DATA_DIR/downloads/NAME),
its files fetched several at once, each written as a file is. Run again to the same PATH, a fetch
keeps the files found complete (checked against their manifests) and resumes the rest. An entry
that could be written outside PATH (a name with "..", an absolute path, a drive letter, a device
name, a clash of upper and lower case on a case-insensitive file system, a symbolic link in PATH
on the way) is refused and listed, and so is a file in PATH that differs from the shared one;
the exit status is then 1. "peershare ls LINK" lists a folder without fetching it.
--cache also keeps the chunks in the node's store (as cache, up to cacheSizeMB), so fetching the
same content again needs no holder; without it the file is the only copy.
--json prints progress as one JSON event per line, then the result.`,
    run: async (flags, args) => {
      needArgs(args, 1, "fetch ID|LINK");
      // a trailing separator means "into this directory", even if it does not exist yet
      const out = flags.out ? path.resolve(flags.out) + (/[\\/]$/.test(flags.out) ? path.sep : "") : undefined;
      const r = await fetchWithProgress(flags, args[0], out, flags.cache === true);
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
    summary: [["cat ID|LINK", "write a shared file to stdout"]],
    help: `Usage: peershare cat ID|LINK

Fetches a shared file and writes it to stdout. Its chunks stay in the node's cache (up to
cacheSizeMB), so a second cat of the same content needs no holder.`,
    run: async (flags, args) => {
      needArgs(args, 1, "cat ID|LINK");
      const info = await withNode(flags, "content.info", { link: args[0] });
      if (info.kind === "folder") throw new Error(`${info.name} is a shared folder: list it with "peershare ls LINK", fetch it with "peershare fetch LINK -o DIR"`);
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-cat-"));
      try {
        const r = await fetchWithProgress({ ...flags, json: false }, args[0], path.join(tmp, "content"), true);
        await pipeline(fs.createReadStream(r.path), process.stdout);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    },
  },
  {
    name: "ls",
    summary: [
      ["ls", "what the store holds: own shares, replicas, cache"],
      ["ls ID|LINK", "a shared folder's files and folders, without fetching them"],
    ],
    help: `Usage: peershare ls [ID|LINK] [--json]

Without an argument: lists the shared files and folders in the store (own shares, replicas,
cache), how many of each one's chunks are held here ("manifest only" after a fetch without
--cache: the file is the copy), and the store's size.
With a shared folder's link: its tree, read from its folder manifest alone (no file is fetched):
each file's size and whether it is executable, and the entries a fetch would refuse, with why.`,
    run: async (flags, args) => {
      if (args.length > 1) throw new UsageError("expected ls [ID|LINK]");
      if (args.length === 1) {
        const f = await withNode(flags, "content.list", { link: args[0] });
        return print(flags, f, () => formatFolderTree(f));
      }
      const r = await withNode(flags, "content.ls", {});
      print(flags, r, () => formatListing(r));
    },
  },
  {
    name: "verify",
    summary: [["verify", "re-hash every stored object and name the corrupt ones"]],
    help: `Usage: peershare verify [--json]

Re-hashes every stored object; corrupt ones are quarantined and named. Exit status 1 if any.`,
    run: async (flags) => {
      const r = await withNode(flags, "content.verify", {});
      print(flags, r, () => (r.corrupt.length ? `${r.corrupt.length} corrupt object(s), quarantined:\n${r.corrupt.map((c) => `  ${c}`).join("\n")}` : `all ${r.checked} object(s) intact`));
      if (r.corrupt.length) process.exitCode = 1;
    },
  },
  {
    name: "gc",
    summary: [["gc", "evict cache over the limit and unreferenced objects"]],
    help: `Usage: peershare gc [--json]

Evicts cached objects over the cache limit and chunks no manifest refers to.`,
    run: async (flags) => {
      const r = await withNode(flags, "content.gc", {});
      print(flags, r, () => `freed ${humanBytes(r.freedBytes)}`);
    },
  },
  {
    name: "audit",
    summary: [["audit [ID|LINK]", "who fetched this node's shares, and who was refused"]],
    help: `Usage: peershare audit [ID|LINK] [--json]

Lists the requests other nodes made for this node's own shares (all of them, or one): when, which
node, and whether it was served or refused by the team policy. The log is append-only, hash-chained
and signed by this node; a line that was edited or removed is reported. It keeps the newest 5,000
to 10,000 entries.`,
    run: async (flags, args) => {
      if (args.length > 1) throw new UsageError("expected audit [ID|LINK]");
      const r = await withNode(flags, "audit.list", { content: args[0] });
      print(flags, r, () => formatAudit(r));
      if (!r.intact) process.exitCode = 1;
    },
  },
];

export const fileVerbs: VerbGroup = { title: "Files", verbs };
