// Makes peershare:// share links in any document clickable: a click opens the shared file in an
// editor tab (peershare.openShared).
import * as vscode from "vscode";
import { findLinks } from "./shareLink";

/** Documents larger than this are not scanned. */
const MAX_SCAN = 2_000_000;

export function openSharedCommandUri(link: string): vscode.Uri {
  return vscode.Uri.parse(`command:peershare.openShared?${encodeURIComponent(JSON.stringify([link]))}`);
}

export class ShareLinkProvider implements vscode.DocumentLinkProvider {
  provideDocumentLinks(document: vscode.TextDocument): vscode.DocumentLink[] {
    const text = document.getText();
    if (text.length > MAX_SCAN || !text.includes("peershare://")) return [];
    return findLinks(text).map((l) => {
      const link = new vscode.DocumentLink(new vscode.Range(document.positionAt(l.start), document.positionAt(l.end)), openSharedCommandUri(l.link));
      link.tooltip = `Open the shared file ${l.ref.contentId.slice(0, 12)}… (peershare)`;
      return link;
    });
  }

  static register(context: vscode.ExtensionContext): void {
    context.subscriptions.push(vscode.languages.registerDocumentLinkProvider({ scheme: "*" }, new ShareLinkProvider()));
  }
}
