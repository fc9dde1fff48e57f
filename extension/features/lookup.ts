// Look Up Key (a quick pick with the result and the route) and the lookup trace panel (Show Lookup
// Trace, or Show Trace in the pick): every node asked, hop by hop, beside a heat map of the routing
// table; its Look Up Again runs the lookup anew. Rows and texts come from lookupModel.ts.
import * as vscode from "vscode";
import type { LookupResult } from "../../node-host/rpc/api-types";
import type { FromTrace } from "../../webview-ui/traceProtocol";
import { askKey, copyWithNotice, keyArg, registerCommands } from "../commands";
import { shortId } from "../format";
import { lookupLog, lookupRows, lookupTitle } from "../lookupModel";
import type { Services } from "../services";
import { TRACE_PANEL_TYPE, TracePanel, type TracePanelHost } from "../tracePanel";

export function registerLookup(context: vscode.ExtensionContext, s: Services): void {
  /** Sends the routing table, read anew, to the trace panel. */
  const sendRouting = async (): Promise<void> => {
    const routing = await s.data.refreshRouting();
    if (routing) TracePanel.instance?.send({ type: "routing", routing });
  };
  const openTrace = async (result: LookupResult): Promise<void> => {
    TracePanel.show(context.extensionUri, traceHost, result, s.data.routing);
    await sendRouting();
  };
  const traceHost: TracePanelHost = {
    onMessage: async (m: FromTrace) => {
      if (m.type === "ready") {
        void sendRouting();
      } else if (m.type === "copy") {
        await copyWithNotice(m.value);
      } else if (m.type === "lookupAgain") {
        if (!(await s.node.require())) return;
        TracePanel.instance?.send({ type: "busy", busy: true });
        const result = await lookup(s, m.key);
        if (result) await openTrace(result);
        else TracePanel.instance?.send({ type: "busy", busy: false });
      }
    },
  };
  /** A command's lookup: of the key given or asked for; `show` shows its result. */
  const lookupCommand = (title: string, show: (result: LookupResult) => Promise<void>) => async (arg?: unknown) => {
    if (!(await s.node.require())) return;
    const key = keyArg(arg) ?? (await askKey(title));
    if (!key) return;
    const result = await lookup(s, key);
    if (result) await show(result);
    return result;
  };

  registerCommands(context, {
    "peershare.lookupKey": lookupCommand("peershare: Look Up Key", (result) => showLookup(result, openTrace)),
    "peershare.showLookupTrace": lookupCommand("peershare: Show Lookup Trace", openTrace),
  });
  context.subscriptions.push(
    vscode.window.registerWebviewPanelSerializer(TRACE_PANEL_TYPE, {
      deserializeWebviewPanel: async (panel) => {
        TracePanel.revive(panel, context.extensionUri, traceHost);
        s.node.use("the lookup trace panel");
      },
    }),
    { dispose: () => TracePanel.instance?.dispose() },
  );
}

/** Runs dht.lookup under a progress notification; a failure is shown and gives undefined. */
async function lookup(s: Services, key: string): Promise<LookupResult | undefined> {
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `peershare: looking up ${shortId(key, 12)}` },
      () => s.host.request("dht.lookup", { key }),
    );
    s.log.info(lookupLog(result));
    return result;
  } catch (err) {
    s.failed("lookup failed", err);
    return undefined;
  }
}

/** The result in a quick pick: Show Trace first, then rows whose ID or value a pick copies. */
async function showLookup(result: LookupResult, openTrace: (result: LookupResult) => Promise<void>): Promise<void> {
  type Item = vscode.QuickPickItem & { copyValue?: string; trace?: true };
  const items: Item[] = [
    { label: "$(graph) Show Trace", description: "every hop: distances to the key, round trips, answers; and the routing table's heat map", trace: true },
    ...lookupRows(result).map((r): Item =>
      r.kind === "separator"
        ? { label: r.label, kind: vscode.QuickPickItemKind.Separator }
        : { label: r.label, description: r.description, detail: r.detail, copyValue: r.copyValue },
    ),
  ];
  const pick = await vscode.window.showQuickPick(items, {
    title: lookupTitle(result),
    placeHolder: "Show the trace, or choose a row to copy its ID or value",
    matchOnDescription: true,
  });
  if (pick?.trace) await openTrace(result);
  else if (pick?.copyValue) await copyWithNotice(pick.copyValue);
}
