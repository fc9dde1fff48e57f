// peershare's VS Code extension: runs a node-host per window and shows its DHT state. All protocol
// work happens in the node-host; activate() builds the services the features share (services.ts)
// and registers each feature from its module under features/. A new feature is a new module there
// and one register line here.
import type * as vscode from "vscode";
import { createApi, type PeershareApi } from "./api";
import { registerCompare } from "./features/compare";
import { registerDhtRecords } from "./features/dhtRecords";
import { registerFetchAuditView } from "./features/fetchAuditView";
import { registerFetching } from "./features/fetching";
import { registerFileSystemAndLinks } from "./features/fileSystemAndLinks";
import { registerFolders } from "./features/folders";
import { registerFolderSearch } from "./features/folderSearch";
import { registerLookup } from "./features/lookup";
import { registerNodeLifecycle } from "./features/nodeLifecycle";
import { registerPeerViews } from "./features/peerViews";
import { registerSettingsSync } from "./features/settingsSync";
import { registerSharedFilesView } from "./features/sharedFilesView";
import { registerSharing } from "./features/sharing";
import { registerTeams } from "./features/teams";
import { registerTransfers } from "./features/transfers";
import type { NodeHost } from "./nodeHost";
import { createServices } from "./services";

let host: NodeHost | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<PeershareApi> {
  const services = await createServices(context);
  host = services.host;

  registerNodeLifecycle(context, services); // status bar, restart notices, Restart Node, Copy Node ID, Refresh
  registerSettingsSync(context, services); // peershare.* settings into the running node
  registerPeerViews(context, services); // Peers and Routing Table views
  registerLookup(context, services); // Look Up Key, the lookup trace panel
  registerDhtRecords(context, services); // Put Value, Get Value
  registerTransfers(context, services); // the Transfers panel and status bar item
  registerFileSystemAndLinks(context, services); // the peershare: file system, clickable links
  registerSharing(context, services); // Share File to Peers
  registerFetching(context, services); // Fetch by Hash, Open Shared Hash
  registerFolders(context, services); // Share Folder to Peers, Open Shared Folder, Save Shared Folder As…
  registerFolderSearch(context, services); // file and text search in shared folders (where VS Code allows the API)
  registerSharedFilesView(context, services); // Shared Files view, Copy Share Link, Repair Now
  registerCompare(context, services); // Compare Shared File with Local File…
  registerTeams(context, services); // Teams view and the team verbs
  registerFetchAuditView(context, services); // Fetch Audit view

  services.data.render(); // every view's first state
  services.node.startAtActivation(services.views.shown());
  return createApi(services);
}

export async function deactivate(): Promise<void> {
  const h = host;
  host = undefined;
  await h?.stop();
}
