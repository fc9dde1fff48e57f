// Entry point of the extension-host test suites: the run() contract of @vscode/test-electron
// (also honoured by the web workbench's test payload, which is how they run in code-server).
import * as fs from "node:fs";
import * as path from "node:path";
import Mocha from "mocha";

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: "bdd", color: false, timeout: 60_000, reporter: "spec" });
  for (const f of fs.readdirSync(__dirname).filter((f) => f.endsWith(".test.js")).sort()) mocha.addFile(path.join(__dirname, f));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => {
      // A machine-readable line for the harness that drives the workbench.
      console.log(`peershare-ext-tests: ${failures} failed of ${mocha.suite.total()}`);
      if (failures > 0) reject(new Error(`${failures} extension-host test(s) failed`));
      else resolve();
    });
  });
}
