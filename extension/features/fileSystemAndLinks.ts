// Shared files in editor tabs: the read-only `peershare:` file system (contentFs.ts) and clickable
// `peershare://` links in any document (links.ts), which open the file through Open Shared Hash.
import type * as vscode from "vscode";
import { ContentFileSystem } from "../contentFs";
import { ShareLinkProvider } from "../links";
import type { Services } from "../services";

export function registerFileSystemAndLinks(context: vscode.ExtensionContext, s: Services): void {
  s.files.clearCache();
  ContentFileSystem.register(context, s.files);
  ShareLinkProvider.register(context);
}
