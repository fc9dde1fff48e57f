// Preloaded into a node process (NODE_OPTIONS=--require …/hide-native.js) to take native packages
// away from it, the way a user's machine can lack them:
//   PEERSHARE_TEST_MISSING  package names, comma-separated, that are not installed (MODULE_NOT_FOUND),
//                           e.g. a platform package, as on a platform no binary was built for;
//   PEERSHARE_TEST_BROKEN   file names of .node binaries that fail to load as a damaged one does.
// Everything else loads as usual. Test-only: nothing in the product reads these variables.

import Module from "node:module";
import * as path from "node:path";

const list = (name: string) => new Set((process.env[name] ?? "").split(",").filter(Boolean));
const missing = list("PEERSHARE_TEST_MISSING");
const broken = list("PEERSHARE_TEST_BROKEN");

type Load = (request: string, parent: unknown, isMain: boolean) => unknown;
const internals = Module as unknown as { _load: Load; _extensions: Record<string, (module: unknown, filename: string) => void> };

const load = internals._load;
internals._load = function (request, parent, isMain) {
  if (missing.has(request)) throw Object.assign(new Error(`Cannot find module '${request}'`), { code: "MODULE_NOT_FOUND" });
  return load.call(this, request, parent, isMain);
};

const loadBinary = internals._extensions[".node"];
internals._extensions[".node"] = function (module, filename) {
  if (broken.has(path.basename(filename))) throw new Error(`${filename}: file too short`); // what dlopen says of a cut file
  return loadBinary.call(this, module, filename);
};
