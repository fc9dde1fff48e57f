#!/usr/bin/env node
// The `peershare` command: runs the compiled CLI (built by `npm install` / `npm run build`).
"use strict";
const path = require("node:path");
const fs = require("node:fs");
const cli = path.join(__dirname, "..", "dist", "node-host", "cli", "index.js");
if (!fs.existsSync(cli)) {
  process.stderr.write("peershare: not built yet; run `npm run build` in " + path.join(__dirname, "..") + "\n");
  process.exit(1);
}
require(cli).main().then((code) => process.exit(code));
