// The lookup trace panel: every node a dht.lookup asked, hop by hop (XOR distance to the key and its
// bit length, RTT, whether it answered), and the routing table as a heat map of bucket fill by
// distance. Rendered from messages sent by the extension (traceProtocol.ts); no remote resources;
// state survives hide/show and reloads via setState.
import { isToTrace, reduceTrace, type FromTrace, type TraceState } from "./traceProtocol";
import { pluralize } from "../extension/format";
import { heatMap, traceView, type HeatCell, type HopGroup, type HopRow } from "./traceModel";
import { el, vsCodeApi } from "./dom";

const vscode = vsCodeApi<FromTrace, TraceState>();
let state: TraceState = vscode.getState() ?? {};

function bar(percent: number, className: string): HTMLElement {
  const fill = el("div", { className: "fill" });
  fill.style.width = `${Math.max(0, Math.min(100, percent))}%`;
  return el("div", { className: `bar ${className}` }, [fill]);
}

function hopRow(r: HopRow): HTMLTableRowElement {
  const answer = r.ok ? el("span", { className: "answer ok", text: "✓ answered" }) : el("span", { className: "answer fail", text: "✗ no answer" });
  return el("tr", { className: `hop-row ${r.ok ? "ok" : "fail"}${r.closest ? " closest" : ""}`, attrs: { "data-id": r.id } }, [
    el("td", { className: "node mono", title: r.id }, [r.shortId, ...(r.closest ? [" ", el("span", { className: "badge", text: "closest", title: "Among the closest nodes the lookup returned" })] : [])]),
    el("td", { className: "address mono", text: r.address }),
    el("td", { className: "distance", title: `XOR distance to the key:\n${r.distance}` }, [
      el("div", { className: "distance-text" }, [el("span", { className: "mono", text: r.distanceText }), el("span", { className: "bits", text: ` · ${r.bits} bits` })]),
      bar(r.barPercent, "distance-bar"),
    ]),
    el("td", { className: "rtt", text: r.rttText }),
    el("td", { className: "state" }, [answer]),
    el("td", { className: "actions" }, [el("button", { text: "Copy ID", title: `Copy ${r.id}`, attrs: { "data-copy": r.id } })]),
  ]);
}

function hopSection(g: HopGroup): HTMLElement {
  const best = g.bestBits === null ? "no answer" : g.bestBits === 0 ? "reached the node whose ID is the key" : `closest answer at 2^${g.bestBits - 1} (${g.bestBits} bits)`;
  const table = el("table", { className: "hops" }, [
    el("colgroup", {}, ["c-node", "c-address", "c-distance", "c-rtt", "c-state", "c-actions"].map((c) => el("col", { className: c }))),
    el("thead", {}, [el("tr", {}, ["Node", "Address", "XOR distance to key", "RTT", "Answer", ""].map((h) => el("th", { text: h })))]),
    el("tbody", {}, g.rows.map(hopRow)),
  ]);
  return el("section", { className: "hop", attrs: { "data-hop": String(g.hop) } }, [
    el("h3", {}, [el("span", { className: "hop-number", text: `Hop ${g.hop}` }), el("span", { className: "hop-detail", text: ` · ${g.asked} asked · ${g.answered} answered · ${best}` })]),
    table,
  ]);
}

function heatCell(c: HeatCell): HTMLElement {
  return el("div", { className: `cell level-${c.level}${c.key ? " key" : ""}`, title: c.title, attrs: { "data-index": String(c.index), "data-contacts": String(c.contacts) } });
}

function renderHeat(): void {
  const box = document.getElementById("heat")!;
  const empty = document.getElementById("heat-empty")!;
  const routing = state.routing;
  if (!routing) {
    box.replaceChildren();
    empty.hidden = false;
    return;
  }
  empty.hidden = true;
  const h = heatMap(routing, state.result?.key);
  const grid = el("div", { className: "grid", attrs: { role: "img", "aria-label": `Routing table: ${h.size} contacts in ${h.usedBuckets} buckets` } });
  for (let row = 15; row >= 0; row--) {
    grid.append(el("div", { className: "row-label", text: `${row * 16}–${row * 16 + 15}` }));
    for (let col = 0; col < 16; col++) grid.append(heatCell(h.cells[row * 16 + col]));
  }
  const legend = el("div", { className: "legend" }, [
    el("span", { text: "fill of k =" }),
    el("span", { className: "mono", text: ` ${h.k} ` }),
    ...[0, 1, 2, 3, 4].map((l) => el("span", { className: `cell level-${l}`, title: l === 0 ? "empty" : `up to ${l * 25}%` })),
    el("span", { text: " empty → full" }),
    ...(h.keyBucket !== null ? [el("span", { className: "cell key level-0" }), el("span", { text: ` the key's bucket (${h.keyBucket})` })] : []),
  ]);
  const bars = el(
    "div",
    { className: "bars" },
    h.bars
      .slice()
      .reverse()
      .map((c) =>
        el("div", { className: `bar-row${c.key ? " key" : ""}`, title: c.title, attrs: { "data-index": String(c.index) } }, [
          el("span", { className: "bar-label", text: `Bucket ${c.index}` }),
          el("span", { className: "bar-range mono", text: `2^${c.index}` }),
          bar(c.fill * 100, `fill-bar level-${c.level}`),
          el("span", { className: "bar-count", text: `${c.contacts}/${h.k}${c.replacements ? ` +${c.replacements} waiting` : ""}` }),
        ]),
      ),
  );
  box.replaceChildren(
    el("div", { className: "heat-summary", text: `${pluralize(h.size, "contact")} in ${h.usedBuckets} of 256 buckets · far buckets (top) hold most nodes; near ones (bottom) few` }),
    el("div", { className: "heat-body" }, [el("div", { className: "grid-box" }, [grid, legend]), bars]),
  );
}

function renderTrace(): void {
  const r = state.result;
  document.getElementById("empty")!.hidden = !!r;
  document.getElementById("trace")!.hidden = !r;
  document.body.classList.toggle("busy", !!state.busy);
  (document.getElementById("again") as HTMLButtonElement).disabled = !r || !!state.busy;
  if (!r) return;
  const v = traceView(r);
  document.getElementById("key")!.textContent = v.key;
  document.getElementById("outcome")!.textContent = v.outcome;
  document.getElementById("summary")!.textContent = `${v.summary}${state.at ? ` · ${new Date(state.at).toLocaleTimeString()}` : ""}`;
  document.getElementById("hops")!.replaceChildren(...(v.groups.length ? v.groups.map(hopSection) : [el("div", { className: "muted", text: "No node was asked: the routing table is empty." })]));
}

function render(): void {
  renderTrace();
  renderHeat();
}

window.addEventListener("message", (event: MessageEvent) => {
  const msg: unknown = event.data;
  if (!isToTrace(msg)) return;
  state = reduceTrace(state, msg);
  vscode.setState(state);
  render();
});

document.addEventListener("click", (event) => {
  const target = (event.target as HTMLElement).closest("button");
  if (!target) return;
  if (target.dataset.copy) vscode.postMessage({ type: "copy", value: target.dataset.copy });
  else if (target.id === "copy-key" && state.result) vscode.postMessage({ type: "copy", value: state.result.key });
  else if (target.id === "again" && state.result) vscode.postMessage({ type: "lookupAgain", key: state.result.key });
});

render();
vscode.postMessage({ type: "ready" });
