// What the features' commands share: registering a table of them, reading their arguments (a key,
// a link, a tree row) and asking for a missing one, and copying a value with a short notice.
import * as vscode from "vscode";
import { normalizeKey } from "./format";
import { parseLinkOrId, type ContentRef } from "./shareLink";
import type { TreeNode } from "./treeModel";

/** A command's handler: VS Code passes what the command was invoked on (a tree row, a URI) or what a caller gave. */
export type CommandHandler = (...args: unknown[]) => unknown;

/** Registers commands by ID; they are disposed with the extension. */
export function registerCommands(context: vscode.ExtensionContext, commands: Record<string, CommandHandler>): void {
  for (const [id, handler] of Object.entries(commands)) context.subscriptions.push(vscode.commands.registerCommand(id, handler));
}

/** A key passed by a caller: a string, or a tree row (context menu) whose ID it is. */
export function keyArg(arg: unknown): string | undefined {
  if (typeof arg === "string") return normalizeKey(arg);
  if (arg && typeof arg === "object" && typeof (arg as TreeNode).copyValue === "string") return normalizeKey((arg as TreeNode).copyValue!);
  return undefined;
}

/** A link or content ID given by a caller: a string, a tree row (its copy value) or an editor URI. */
export function refArg(arg: unknown): ContentRef | undefined {
  if (typeof arg === "string") return parseLinkOrId(arg);
  if (arg instanceof vscode.Uri) return parseLinkOrId(arg.toString(true));
  if (arg && typeof arg === "object" && typeof (arg as TreeNode).copyValue === "string") return parseLinkOrId((arg as TreeNode).copyValue!);
  return undefined;
}

/** Asks for a value that `parse` reads (an empty answer or Escape: undefined); `invalid` says what to enter. */
export async function askParsed<T>(ask: { title: string; prompt: string; placeHolder?: string; invalid: string }, parse: (input: string) => T | undefined): Promise<T | undefined> {
  const input = await vscode.window.showInputBox({
    title: ask.title,
    prompt: ask.prompt,
    placeHolder: ask.placeHolder,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() === "" || parse(v) ? undefined : ask.invalid),
  });
  return input ? parse(input) : undefined;
}

/** Asks for a 256-bit key (node ID or content ID). */
export function askKey(title: string): Promise<string | undefined> {
  const prompt = "A 256-bit key (node ID or content ID) as 64 hex digits";
  return askParsed({ title, prompt, placeHolder: "e.g. 3fa1…(64 hex digits)", invalid: "Enter 64 hexadecimal digits" }, normalizeKey);
}

/** Asks for a share link (or a public share's content ID). */
export function askLink(title: string): Promise<ContentRef | undefined> {
  const prompt = "A share link (peershare://…#k=…) or, for a public share, its content ID (64 hex digits)";
  return askParsed({ title, prompt, placeHolder: "peershare://…", invalid: "Enter a peershare:// link or a 64-hex-digit content ID" }, parseLinkOrId);
}

/** Copies `value` to the clipboard and says so in the status bar for `ms`. */
export async function copyWithNotice(value: string, notice = "peershare: copied", ms = 3000): Promise<void> {
  await vscode.env.clipboard.writeText(value);
  vscode.window.setStatusBarMessage(notice, ms);
}
