// `peershare dht`: lookup, closest, put and get over the DHT.

import { intFlag, needArgs } from "./args";
import { formatClosest, formatLookup, formatValue } from "./format";
import { print, subcommands, VerbGroup, withNode } from "./verb";

const dht = subcommands(
  {
    lookup: async (flags, args) => {
      needArgs(args, 1, "dht lookup KEY");
      const r = await withNode(flags, "dht.lookup", { key: args[0] });
      print(flags, r, () => formatLookup(r, flags.trace === true));
    },
    closest: async (flags, args) => {
      needArgs(args, 1, "dht closest KEY [-n N]");
      const r = await withNode(flags, "dht.closest", { key: args[0], n: intFlag(flags.n, "n", 1, 256) });
      print(flags, r, () => formatClosest(r));
    },
    put: async (flags, args) => {
      needArgs(args, 2, "dht put NAME VALUE");
      const r = await withNode(flags, "dht.put", { name: args[0], value: args[1] });
      print(flags, r, () => `${r.key}\n  stored on ${r.storedOn} node(s); get it anywhere with: peershare dht get ${r.key}`);
    },
    get: async (flags, args) => {
      needArgs(args, 1, "dht get KEY");
      const r = await withNode(flags, "dht.get", { key: args[0] });
      print(flags, r, () => formatValue(r));
    },
  },
  "expected dht lookup|closest|put|get",
);

export const dhtVerbs: VerbGroup = {
  title: "DHT",
  verbs: [
    {
      name: "dht",
      summary: [
        ["dht lookup KEY", "find the value or the providers stored under KEY  [--trace]"],
        ["dht closest KEY", "the nodes closest to KEY in the whole network  [-n N]"],
        ["dht put NAME VALUE", "publish VALUE signed by this node; prints the key to get it by"],
        ["dht get KEY", "fetch a value from the network (signature checked)"],
      ],
      help: `Usage:
  peershare dht lookup KEY [--trace] [--json]
  peershare dht closest KEY [-n N] [--json]
  peershare dht put NAME VALUE [--json]
  peershare dht get KEY [--json]

lookup   finds a value, or else the providers, stored under KEY; --trace shows each node asked,
         hop by hop: its XOR distance to KEY (and its bit length), round-trip time, and whether
         it answered (--json always includes them)
closest  runs an iterative lookup and prints the N (default k) nodes closest to KEY
put      publishes VALUE (at most 800 bytes) signed by this node under a key derived from its
         public key and NAME, on the k closest nodes; prints that key
get      fetches the value under KEY from any node; its signature is checked

KEY is 64 hex digits, or any other text, which is hashed with SHA-256.`,
      run: dht,
    },
  ],
};
