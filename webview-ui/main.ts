// The transfer panel: node status and a table of transfers, rendered from messages sent by the
// extension (see protocol.ts). No remote resources; state survives hide/show via setState.
import { isToWebview, reduce, type FromWebview, type PanelState, type TransferRow } from "./protocol";
import { rowView, statusText } from "./viewModel";
import { el, vsCodeApi } from "./dom";

const vscode = vsCodeApi<FromWebview, PanelState>();
let state: PanelState = vscode.getState() ?? { transfers: [] };

function renderStatus(): void {
  const box = document.getElementById("status")!;
  const s = state.status;
  const { headline, detail } = statusText(s);
  box.dataset.state = s?.state ?? "starting";
  document.getElementById("status-headline")!.textContent = headline;
  document.getElementById("status-detail")!.textContent = detail;
  const id = document.getElementById("node-id")!;
  id.textContent = s?.id ?? "";
  id.title = s?.id ?? "";
}

function transferRow(t: TransferRow): HTMLTableRowElement {
  const v = rowView(t);
  const bar = el("div", { className: "bar", attrs: { role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": v.percent.toFixed(0) } }, [
    el("div", { className: "fill" }),
  ]);
  (bar.firstChild as HTMLElement).style.width = `${v.percent}%`;
  const actions = el("td", { className: "actions" });
  for (const a of v.actions) {
    const b = el("button", { className: `action ${a}`, text: a[0].toUpperCase() + a.slice(1), attrs: { "data-action": a, "data-id": v.id } });
    actions.append(b);
  }
  const row = el("tr", { className: `transfer state-${t.state}`, attrs: { "data-id": v.id } }, [
    el("td", { className: "name", title: `${t.name}\n${t.contentId}` }, [el("span", { className: "dir", text: v.directionIcon }), " ", v.name]),
    el("td", { className: "progress" }, [bar, el("div", { className: "progress-text", text: v.progressText })]),
    el("td", { className: "rate", text: v.rateText }),
    el("td", { className: "holders", text: v.holdersText, title: v.holdersTitle }),
    el("td", { className: "eta", text: v.etaText }),
    el("td", { className: "state", text: v.stateText }),
    actions,
  ]);
  return row;
}

function renderTransfers(): void {
  const body = document.getElementById("transfers-body")!;
  body.replaceChildren(...state.transfers.map(transferRow));
  document.getElementById("transfers-empty")!.hidden = state.transfers.length > 0;
  document.getElementById("transfers-table")!.hidden = state.transfers.length === 0;
}

function render(): void {
  renderStatus();
  renderTransfers();
}

window.addEventListener("message", (event: MessageEvent) => {
  const msg: unknown = event.data;
  if (!isToWebview(msg)) return;
  state = reduce(state, msg);
  vscode.setState(state);
  if (msg.type === "status") renderStatus();
  else renderTransfers();
});

document.addEventListener("click", (event) => {
  const target = (event.target as HTMLElement).closest("button");
  if (!target) return;
  const action = target.dataset.action;
  const id = target.dataset.id;
  const command = target.dataset.command;
  if (id && (action === "pause" || action === "resume" || action === "cancel" || action === "open")) {
    vscode.postMessage({ type: "transferAction", id, action });
  } else if (command === "restartNode" || command === "copyNodeId" || command === "showLog") {
    vscode.postMessage({ type: "command", command });
  }
});

render();
vscode.postMessage({ type: "ready" });
