// The verbs about shared files and folders: share, fetch and cat (transfer-verbs.ts), status,
// repair, ls, verify, gc, and audit (who fetched this node's shares).

import { needArgs, UsageError } from "./args";
import { formatAudit, formatFolderTree, formatListing, formatStatus, humanBytes } from "./format";
import { nodeStatus } from "./node-status";
import { withNodeOrOneShot } from "./one-shot-run";
import { hasHints, transferVerbs } from "./transfer-verbs";
import { print, Verb, VerbGroup, withNode } from "./verb";

const verbs: Verb[] = [
  ...transferVerbs,
  {
    name: "status",
    summary: [
      ["status ID|LINK", "which live nodes hold a shared file or folder, and whether it has its r copies"],
      ["status --node", "is the node up and reachable; its peers and relayed connections (monitoring)"],
    ],
    help: `Usage: peershare status ID|LINK [--json]
       peershare status --node [--json]

With ID|LINK: lists the nodes that announced they hold the file or folder, whether each answers
now and holds every chunk (for a folder: every object of it), and whether it has its r live copies.
With --node: whether the node of the data dir is up, whether the internet can reach it (and at
which address), how many peers it knows, how many nodes behind NAT use it as their rendezvous, and
the connections it relays. Exit status 0 when the node is up, 1 when none runs (--json then prints
{"up": false, ...}), so a monitoring script needs nothing else.`,
    run: async (flags, args) => {
      if (flags.node) return (needArgs(args, 0, "status --node"), nodeStatus(flags));
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
each file's size and whether it is executable, and the entries a fetch would refuse, with why.
With no node running for the data dir, a one-off node runs for it, as for fetch.`,
    run: async (flags, args) => {
      if (args.length > 1) throw new UsageError("expected ls [ID|LINK]");
      if (args.length === 1) {
        const hinted = hasHints(args[0]);
        const f = await withNodeOrOneShot(flags, !hinted, (dataDir) => withNode({ ...flags, "data-dir": dataDir }, "content.list", { link: args[0] }));
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
