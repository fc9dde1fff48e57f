// Builds the extension with esbuild into out/ (the extension's dist, packaged into the .vsix):
//   out/extension.js      the extension (CommonJS, `vscode` external)
//   out/node-host.js      the node-host bundled from node-host/cli/index.ts (native packages external,
//                         copied with their dependencies into out/node_modules/)
//   out/webview/          the webviews' scripts and styles: main.* (transfer panel), trace.* (lookup trace)
//   out/test/unit/        unit tests of the extension's pure logic (`node --test out/test/unit`)
//   out/test/suite/       mocha suites for the extension host (@vscode/test-electron's run() contract)
// Usage: node extension/build.mjs [extension|node-host|webview|tests ...] [--production] [--allow-missing-node-host] [--out DIR]
// (--out: build into DIR instead of out/; scripts/package-vsix.ts stages a .vsix so)
import * as esbuild from "esbuild";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const outAt = argv.indexOf("--out");
const out = outAt >= 0 ? path.resolve(argv.splice(outAt, 2)[1]) : path.join(root, "out");
const production = argv.includes("--production");
const allowMissingNodeHost = argv.includes("--allow-missing-node-host");
const all = ["extension", "node-host", "webview", "tests"];
const targets = argv.filter((a) => !a.startsWith("--"));
const wanted = new Set(targets.length ? targets : ["extension", "node-host", "webview"]);
for (const t of wanted) if (!all.includes(t)) throw new Error(`unknown target ${t}; one of ${all.join(", ")}`);

/** Packages with native parts: never bundled, shipped as files next to the bundle. */
const NATIVE = ["node-datachannel", "@napi-rs/blake-hash"];

const common = {
  bundle: true,
  logLevel: "warning",
  sourcemap: production ? false : "linked",
  minify: production,
  legalComments: "none",
  absWorkingDir: root,
};
const nodeCommon = { ...common, platform: "node", format: "cjs", target: "node20" };

async function buildExtension() {
  await esbuild.build({
    ...nodeCommon,
    entryPoints: ["extension/extension.ts"],
    outfile: path.join(out, "extension.js"),
    external: ["vscode"],
  });
}

async function buildNodeHost() {
  const entry = path.join(root, "node-host/cli/index.ts");
  if (!fs.existsSync(entry)) {
    const msg = "node-host/cli/index.ts does not exist yet: out/node-host.js not built";
    if (allowMissingNodeHost) {
      console.warn(`warning: ${msg}`);
      return;
    }
    throw new Error(msg);
  }
  const result = await esbuild.build({
    ...nodeCommon,
    entryPoints: [entry],
    outfile: path.join(out, "node-host.js"),
    external: NATIVE,
    metafile: true,
  });
  const used = new Set();
  for (const input of Object.values(result.metafile.inputs)) {
    for (const imp of input.imports) {
      const name = NATIVE.find((n) => imp.path === n || imp.path.startsWith(`${n}/`));
      if (imp.external && name) used.add(name);
    }
  }
  const modulesDir = path.join(out, "node_modules");
  fs.rmSync(modulesDir, { recursive: true, force: true });
  for (const name of used) copyPackage(name, root, modulesDir, new Set());
  if (used.size) console.log(`node-host: shipped native packages ${[...used].join(", ")}`);
}

/** Copies an installed package and its (installed) dependencies into `dest`/node_modules layout. */
function copyPackage(name, fromDir, dest, seen) {
  if (seen.has(name)) return;
  seen.add(name);
  // Node's lookup: node_modules of `fromDir` and of each folder above it (package.json may be
  // hidden by an "exports" map, so no require.resolve).
  let pkgJson;
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name, "package.json");
    if (fs.existsSync(candidate)) {
      pkgJson = candidate;
      break;
    }
    if (path.dirname(dir) === dir) return; // not installed: an optional dependency for another platform
  }
  const src = path.dirname(pkgJson);
  fs.cpSync(src, path.join(dest, name), {
    recursive: true,
    filter: (p) => !/[\\/](node_modules|src|test|tests|\.github)([\\/]|$)/.test(path.relative(src, p) ? `/${path.relative(src, p)}` : ""),
  });
  const pkg = JSON.parse(fs.readFileSync(pkgJson, "utf8"));
  for (const dep of [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]) copyPackage(dep, src, dest, seen);
}

async function buildWebview() {
  await esbuild.build({
    ...common,
    platform: "browser",
    format: "iife",
    target: "es2022",
    entryPoints: { main: "webview-ui/main.ts", trace: "webview-ui/trace.ts" },
    outdir: path.join(out, "webview"),
  });
  // each panel's stylesheet is the shared base followed by its own rules
  const css = (own) => ["webview-ui/base.css", own].map((f) => fs.readFileSync(path.join(root, f), "utf8")).join("\n");
  fs.writeFileSync(path.join(out, "webview/main.css"), css("webview-ui/style.css"));
  fs.writeFileSync(path.join(out, "webview/trace.css"), css("webview-ui/trace.css"));
}

async function buildTests() {
  const files = (dir) =>
    fs.existsSync(path.join(root, dir))
      ? fs.readdirSync(path.join(root, dir)).filter((f) => f.endsWith(".ts")).map((f) => `${dir}/${f}`)
      : [];
  fs.rmSync(path.join(out, "test"), { recursive: true, force: true });
  await esbuild.build({ ...nodeCommon, sourcemap: "inline", entryPoints: files("test/extension/unit"), outdir: path.join(out, "test/unit") });
  await esbuild.build({
    ...nodeCommon,
    sourcemap: "inline",
    entryPoints: files("test/extension/suite"),
    outdir: path.join(out, "test/suite"),
    external: ["vscode", "mocha"],
  });
}

const t0 = Date.now();
fs.mkdirSync(out, { recursive: true });
if (production) {
  // No stale source maps of a development build next to the production bundles.
  for (const dir of [out, path.join(out, "webview")]) {
    if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir)) if (f.endsWith(".map")) fs.rmSync(path.join(dir, f));
  }
}
if (wanted.has("extension")) await buildExtension();
if (wanted.has("node-host")) await buildNodeHost();
if (wanted.has("webview")) await buildWebview();
if (wanted.has("tests")) await buildTests();
console.log(`built ${[...wanted].join(", ")} into ${out.startsWith(root + path.sep) ? path.relative(root, out) : out}/ in ${Date.now() - t0} ms${production ? " (production)" : ""}`);
