// `peershare config`: get and set the node's settings, through the running node where there is
// one (it applies most at once), else in DATA_DIR/config.json.

import { ConfigError, defaultConfig, isSettingName, loadConfig, saveSetting, SETTINGS } from "../config";
import { dataDirOf, needArgs } from "./args";
import { table } from "./format";
import { print, subcommands, VerbGroup, withNode } from "./verb";

/** A call that found no node running (the verb then works on the data dir's files). */
const noNode = (err: unknown) => (err as Error).name === "NoNodeRunningError";

const config = subcommands(
  {
    get: async (flags, [name]) => {
      if (name !== undefined && !isSettingName(name)) throw new ConfigError(`unknown setting "${name}"; known: ${Object.keys(SETTINGS).join(", ")}`);
      let values: Record<string, unknown>;
      try {
        values = await withNode(flags, "config.get", name ? { key: name } : {});
      } catch (err) {
        if (!noNode(err)) throw err;
        const all = { ...defaultConfig(), ...loadConfig(dataDirOf(flags)) } as unknown as Record<string, unknown>;
        values = name ? { [name]: all[name] } : all;
      }
      print(flags, values, () => table(["SETTING", "VALUE"], Object.entries(values).map(([k, v]) => [k, JSON.stringify(v)])));
    },
    set: async (flags, args) => {
      needArgs(args, 2, "config set NAME VALUE");
      const [name, value] = args;
      let result: { key: string; value: unknown; appliedLive: boolean };
      try {
        result = await withNode(flags, "config.set", { key: name, value });
      } catch (err) {
        if (!noNode(err)) throw err;
        result = { key: name, value: saveSetting(dataDirOf(flags), name, value), appliedLive: false };
      }
      print(flags, result, () => `${result.key} = ${JSON.stringify(result.value)}${result.appliedLive ? " (applied)" : " (takes effect when the node starts)"}`);
    },
  },
  "expected config get [NAME] or config set NAME VALUE",
);

export const configVerbs: VerbGroup = {
  title: "Settings",
  verbs: [
    {
      name: "config",
      summary: [
        ["config get [NAME]", "show settings"],
        ["config set NAME VALUE", "change a setting (k, alpha, replication, intervals, ...)"],
      ],
      help: `Usage:
  peershare config get [NAME] [--json]
  peershare config set NAME VALUE

Settings live in DATA_DIR/config.json. With a node running, "set" applies at once where it can
(otherwise at the next start); without one it edits the file.

${Object.entries(SETTINGS)
  .map(([name, s]) => `  ${name.padEnd(22)} ${s.help} (default ${JSON.stringify(s.default)}${s.live ? "" : "; at next start"})`)
  .join("\n")}`,
      run: config,
    },
  ],
};
