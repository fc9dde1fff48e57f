// The files shared and fetched from this workspace, kept in its workspace state: the Shared Files
// view lists them, Copy Share Link offers the shares, Compare offers a share's source file and the
// Fetch Audit view names the shares. The list logic is in sharedModel.ts.
import type * as vscode from "vscode";
import type { FetchInfo, ShareInfo } from "../node-host/rpc/api-types";
import { remember, rememberFetch, type FetchRecord, type ShareRecord } from "./sharedModel";

const STATE_SHARES = "peershare.shares";
const STATE_FETCHED = "peershare.fetched";

export class ShareHistory {
  constructor(
    private readonly state: vscode.Memento,
    /** Called after each new record (the store's listing is read again). */
    private readonly afterChange: () => Promise<void>,
  ) {}

  shares(): ShareRecord[] {
    return this.state.get<ShareRecord[]>(STATE_SHARES) ?? [];
  }

  fetches(): FetchRecord[] {
    return this.state.get<FetchRecord[]>(STATE_FETCHED) ?? [];
  }

  /** Remembers a share of the file (or folder) at `filePath`. */
  async recordShare(r: ShareInfo, filePath: string): Promise<void> {
    // kept without address hints: they go stale, and the node adds fresh ones when it shares again
    const rec: ShareRecord = { contentId: r.contentId, link: r.linkWithoutHints ?? r.link, name: r.name, size: r.size, public: r.public, sharedAt: Date.now(), path: filePath, teams: r.teams, ...(r.folder ? { folder: { files: r.folder.files } } : {}) };
    await this.state.update(STATE_SHARES, remember(this.shares(), rec));
    await this.afterChange();
  }

  /** Remembers a fetch of `link`. */
  async recordFetch(r: FetchInfo, link: string): Promise<void> {
    const rec: FetchRecord = { contentId: r.contentId, link, name: r.name, size: r.size, path: r.path, fetchedAt: Date.now() };
    await this.state.update(STATE_FETCHED, rememberFetch(this.fetches(), rec));
    await this.afterChange();
  }
}
