// Put Value and Get Value: signed DHT records, stored under a key derived from this node and a
// name, and read back by that key from any node.
import * as vscode from "vscode";
import { askParsed, keyArg, registerCommands } from "../commands";
import { normalizeKey, pluralize, shortId } from "../format";
import type { Services } from "../services";

export function registerDhtRecords(context: vscode.ExtensionContext, s: Services): void {
  registerCommands(context, {
    "peershare.putValue": () => putValue(s),
    "peershare.getValue": (arg?: unknown) => getValue(s, arg),
  });
}

async function putValue(s: Services): Promise<void> {
  if (!(await s.node.require())) return;
  const name = await vscode.window.showInputBox({
    title: "peershare: Put Value (1/2)",
    prompt: "Name of the record (its key is derived from your node and this name)",
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? undefined : "Enter a name"),
  });
  if (!name) return;
  const value = await vscode.window.showInputBox({ title: "peershare: Put Value (2/2)", prompt: `Value for "${name}"`, ignoreFocusOut: true });
  if (value === undefined) return;
  try {
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: "peershare: storing…" }, () =>
      s.host.request("dht.put", { name: name.trim(), value }),
    );
    s.log.info(`put "${r.name}" seq ${r.seq} key ${r.key} stored on ${r.storedOn} nodes`);
    const c = await vscode.window.showInformationMessage(`peershare: stored "${r.name}" under ${shortId(r.key, 12)} on ${pluralize(r.storedOn, "node")}.`, "Copy Key");
    if (c) await vscode.env.clipboard.writeText(r.key);
  } catch (err) {
    s.failed("put failed", err);
  }
}

async function getValue(s: Services, arg: unknown): Promise<void> {
  if (!(await s.node.require())) return;
  const key = keyArg(arg) ?? (await askParsed({ title: "peershare: Get Value", prompt: "Key of the record (64 hex digits)", invalid: "Enter 64 hexadecimal digits" }, normalizeKey));
  if (!key) return;
  try {
    const v = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: "peershare: fetching…" }, () =>
      s.host.request("dht.get", { key }),
    );
    s.log.info(`get ${key}: "${v.name}" seq ${v.seq} (${v.encoding}) ${v.value.slice(0, 200)}`);
    const shown = v.encoding === "utf8" ? v.value : `(base64) ${v.value}`;
    const c = await vscode.window.showInformationMessage(`peershare: "${v.name}" = ${shown.length > 200 ? `${shown.slice(0, 200)}…` : shown}`, "Copy Value");
    if (c) await vscode.env.clipboard.writeText(v.value);
  } catch (err) {
    s.failed("get failed", err);
  }
}
