// The verbs about the node itself: start (and serve, how the VS Code extension runs it), stop, id,
// peers and routing.

import { runDaemon } from "../daemon";
import { nativeStatusLines } from "../platform/native-status";
import { dataDirOf, Flags, intFlag, UsageError } from "./args";
import { formatPeers, formatRouting } from "./format";
import { reachText } from "../nat/reach-text";
import { formatAddress } from "../nat/address";
import { print, Verb, VerbGroup, withNode } from "./verb";

async function start(flags: Flags, stdio: boolean): Promise<void> {
  const dataDir = dataDirOf(flags);
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const { node, stopped } = await runDaemon({
    dataDir,
    port: intFlag(flags.port, "port", 0, 65535),
    host: flags.host,
    bootstrap: flags.bootstrap,
    publicAddress: flags["public-address"],
    log,
    stdio,
  });
  if (!stdio) {
    const info = { id: node.identity.id.toString("hex"), host: node.transport.local.host, port: node.transport.local.port, dataDir };
    print(flags, info, () => `peershare node ${info.id}\n  listening on udp ${formatAddress(info)}\n  data dir ${dataDir}\n  Ctrl-C to stop`);
  }
  await stopped;
}

const verbs: Verb[] = [
  {
    name: "start",
    summary: [["start", "run a node in the foreground (Ctrl-C leaves the network gracefully)"]],
    help: `Usage: peershare start [--data-dir DIR] [--port N] [--host ADDR] [--bootstrap HOST:PORT]... [--public-address HOST:PORT] [--json]

Runs a node in the foreground until Ctrl-C or SIGTERM, then tells its neighbours it is leaving.
  --port N                   UDP and TCP port (default 7420 or the configured one; 0 picks a free port)
  --host ADDR                address to listen on (default 0.0.0.0)
  --bootstrap HOST:PORT      a node to join through; repeat for several (default: the configured list)
  --public-address HOST:PORT where the internet reaches this node, when a router forwards a port to
                             it (default: the publicAddress setting; otherwise found out from peers)
  --json                     print one JSON line with the node's ID and address once it listens
Without a passphrase (PEERSHARE_PASSPHRASE or PEERSHARE_PASSPHRASE_FILE) and without an OS
keychain, the node's keys go to DATA_DIR/keys.enc, readable by this user only (see: peershare keys).
On a team server, run it as a service: README.md, "An always-on team node". Logs go to stderr.`,
    run: (flags) => start(flags, false),
  },
  {
    name: "serve",
    summary: [],
    help: `Usage: peershare serve --stdio [--data-dir DIR] [start options]

Like start, and also speaks the JSON-RPC 2.0 API on stdin/stdout (newline-delimited JSON).
This is how the VS Code extension runs its node. The node stops when stdin closes.`,
    run: async (flags) => {
      if (!flags.stdio) throw new UsageError("serve needs --stdio");
      return start(flags, true);
    },
  },
  {
    name: "stop",
    summary: [["stop", "stop the running node"]],
    help: `Usage: peershare stop [--data-dir DIR]\n\nAsks the running node to leave the network and exit.`,
    run: async (flags) => {
      await withNode(flags, "node.stop", {});
      print(flags, { stopping: true }, () => "the node is leaving the network and stopping");
    },
  },
  {
    name: "id",
    summary: [["id", "this node's ID and address"]],
    help: `Usage: peershare id [--data-dir DIR] [--json]

Prints the node's ID (SHA-256 of its Ed25519 public key), its UDP address, and how others reach
it: "reachable at IP:PORT", or "behind NAT" with the rendezvous nodes requests to it go through
(and the NAT's mapping: endpoint-independent NATs can be hole-punched, endpoint-dependent ones
need a relay). A node that runs without one of its native parts says so on a line of its own
("TLS only: WebRTC is unavailable (…)", "BLAKE3 in JavaScript: …"), and so does a clock that is off
from its peers' by 2 seconds or more ("clock: this computer's clock is 10 min 3 s behind its peers'
…": corrected up to 10 minutes; beyond that, peers drop the node's messages until the clock is set).`,
    run: async (flags) => {
      const info = await withNode(flags, "node.info", {});
      const degraded = [...nativeStatusLines(info.native), ...(info.clock?.problem ? [info.clock.problem] : [])].map((line) => `\n  ${line}`).join("");
      print(flags, info, () => `${info.id}\n  udp ${formatAddress(info)}, ${info.peers} peer(s), pid ${info.pid}, version ${info.version}\n  ${reachText(info.nat)}\n  keys in ${info.keyStore.location}${degraded}`);
    },
  },
  {
    name: "peers",
    summary: [["peers", "known peers with state, round-trip time and last seen"]],
    help: `Usage: peershare peers [--data-dir DIR] [--json]\n\nLists known peers: state (online, suspect, offline), round-trip time, last seen.`,
    run: async (flags) => {
      const peers = await withNode(flags, "dht.peers", {});
      print(flags, peers, () => formatPeers(peers));
    },
  },
  {
    name: "routing",
    summary: [["routing", "the routing table, bucket by bucket"]],
    help: `Usage: peershare routing [--data-dir DIR] [--json]\n\nShows the routing table: each non-empty bucket with its contacts.`,
    run: async (flags) => {
      const r = await withNode(flags, "dht.routing", {});
      print(flags, r, () => formatRouting(r));
    },
  },
];

export const nodeVerbs: VerbGroup = { title: "Node", verbs };
