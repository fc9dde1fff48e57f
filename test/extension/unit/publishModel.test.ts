import { test } from "node:test";
import assert from "node:assert/strict";
import { confirmationWarnings, confirmShareText, SHARE_ANYWAY } from "../../../extension/publishModel";

const needs = (data: unknown) => Object.assign(new Error("not shared: .env looks like an environment file (.env)"), { code: -32010, data });

test("confirmationWarnings reads the warnings of a NeedsConfirmation error, and only those", () => {
  const warnings = [
    { kind: "secret", message: ".env looks like an environment file (.env)" },
    { kind: "git-ignored", message: ".env is ignored by git (.gitignore): it is probably not meant to leave this machine" },
  ];
  assert.deepEqual(confirmationWarnings(needs({ warnings })), warnings);
  // other errors are not confirmations
  assert.equal(confirmationWarnings(Object.assign(new Error("no such file"), { code: -32000 })), undefined);
  assert.equal(confirmationWarnings(Object.assign(new Error("forbidden"), { code: -32003, data: { warnings } })), undefined);
  assert.equal(confirmationWarnings(new Error("plain")), undefined);
  assert.equal(confirmationWarnings(undefined), undefined);
  assert.equal(confirmationWarnings("-32010"), undefined);
});

test("confirmationWarnings keeps well-formed warnings only, and never returns an empty list", () => {
  const ok = { kind: "large", message: "big.iso is 2048.0 MiB, over the 1024 MiB limit (setting shareWarnMB)" };
  assert.deepEqual(confirmationWarnings(needs({ warnings: [ok, { kind: "virus", message: "x" }, { kind: "secret" }, null, "text"] })), [ok]);
  for (const data of [undefined, {}, { warnings: "no" }, { warnings: [] }, { warnings: [{ kind: "odd" }] }]) {
    const w = confirmationWarnings(needs(data));
    assert.equal(w?.length, 1, JSON.stringify(data));
    assert.match(w![0].message, /asks for confirmation/);
  }
});

test("confirmShareText: a question naming the file, one line per reason, and what sharing means", () => {
  const t = confirmShareText(".env", [
    { kind: "secret", message: ".env looks like an environment file (.env)" },
    { kind: "git-ignored", message: ".env is ignored by git (.gitignore)" },
  ]);
  assert.equal(t.message, ".env may hold secrets. Share it anyway?");
  const lines = t.detail.split("\n");
  assert.equal(lines[0], "• Looks like a secret: .env looks like an environment file (.env)");
  assert.equal(lines[1], "• Ignored by git: .env is ignored by git (.gitignore)");
  assert.match(t.detail, /cannot be taken back/);
  const big = confirmShareText("disk.img", [{ kind: "large", message: "disk.img is 2048.0 MiB, over the 1024 MiB limit (setting shareWarnMB)" }]);
  assert.equal(big.message, "disk.img may not be meant to leave this machine. Share it anyway?");
  assert.match(big.detail, /^• Large file: disk\.img is 2048\.0 MiB/);
  assert.equal(SHARE_ANYWAY, "Share Anyway");
});
