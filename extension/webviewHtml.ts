// The page around a peershare webview: a strict Content-Security-Policy (only this extension's
// bundled script, by nonce, and its stylesheet; no remote resources) and the bundle's files.

import * as vscode from "vscode";
import { randomBytes } from "node:crypto";

/** Options of both panels: scripts on, state kept while hidden, files from out/webview/ only. */
export function webviewPanelOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return { enableScripts: true, retainContextWhenHidden: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, "out", "webview")] };
}

/** A complete HTML page loading out/webview/<bundle>.js and .css around `body`. */
export function webviewPage(webview: vscode.Webview, extensionUri: vscode.Uri, bundle: string, title: string, body: string): string {
  const nonce = randomBytes(16).toString("base64");
  const base = vscode.Uri.joinPath(extensionUri, "out", "webview");
  const script = webview.asWebviewUri(vscode.Uri.joinPath(base, `${bundle}.js`));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(base, `${bundle}.css`));
  const csp = ["default-src 'none'", `style-src ${webview.cspSource}`, `script-src 'nonce-${nonce}'`, `img-src ${webview.cspSource} data:`, `font-src ${webview.cspSource}`].join("; ");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>${title}</title>
</head>
<body>
${body}
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
