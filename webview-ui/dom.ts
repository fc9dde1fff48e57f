// What both webview scripts need from the page: VS Code's messaging API and a small element builder.

/** The webview side of VS Code's API, typed by the panel's messages and saved state. */
export interface VsCodeApi<Out, State> {
  postMessage(message: Out): void;
  getState(): State | undefined;
  setState(state: State): void;
}
declare function acquireVsCodeApi(): VsCodeApi<unknown, unknown>;

/** The API (VS Code hands it out once per page). */
export function vsCodeApi<Out, State>(): VsCodeApi<Out, State> {
  return acquireVsCodeApi() as VsCodeApi<Out, State>;
}

export type Child = Node | string;

/** An element with a class, text, title and attributes, and its children appended. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { className?: string; text?: string; title?: string; attrs?: Record<string, string> } = {}, children: Child[] = []): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.className) e.className = props.className;
  if (props.text !== undefined) e.textContent = props.text;
  if (props.title) e.title = props.title;
  for (const [k, v] of Object.entries(props.attrs ?? {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}
