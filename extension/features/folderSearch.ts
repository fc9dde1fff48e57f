// Search in shared folders: Quick Open (Go to File) and the Search view over a `peershare:`
// workspace folder. VS Code searches folders of other schemes only through a FileSearchProvider and a
// TextSearchProvider, which are still proposed API: they are registered where VS Code allows this
// extension to use them (started with `--enable-proposed-api peershare.peershare`, as the e2e tests
// do; the README says so), and skipped with a log line elsewhere.
//   - File search answers from the folder's tree (its manifest: nothing is fetched).
//   - Text search reads each file through the `peershare:` file system, so a file not fetched yet is
//     fetched (from the folder's holders, into the editor's cache): at most MAX_FILE_BYTES per file and
//     MAX_FETCH_BYTES per search; what it skips it says in the Search view.
import * as vscode from "vscode";
import type { Services } from "../services";
import { findInText, fuzzyMatches, looksLikeText, pathIncluded, queryRegExp } from "../searchModel";
import { contentRefOfUri, folderUriParts, SCHEME, type ContentRef } from "../shareLink";
import { errorText } from "../nodeHost";

/** Files larger than this are not searched for text (VS Code's own default keeps no limit; a fetch is not free). */
const MAX_FILE_BYTES = 4 * 1024 * 1024;
/** Bytes one text search may fetch in all. */
const MAX_FETCH_BYTES = 64 * 1024 * 1024;

// The proposed API's shapes (vscode.proposed.fileSearchProvider.d.ts and textSearchProvider.d.ts), as far as used here.
interface SearchOptions {
  folder: vscode.Uri;
  includes?: string[];
  excludes?: string[];
}
interface FileSearchProvider {
  provideFileSearchResults(query: { pattern: string }, options: SearchOptions & { maxResults?: number }, token: vscode.CancellationToken): Promise<vscode.Uri[]>;
}
interface TextSearchMatch {
  uri: vscode.Uri;
  ranges: vscode.Range[];
  preview: { text: string; matches: vscode.Range[] };
}
interface TextSearchComplete {
  limitHit?: boolean;
  message?: { text: string; type: number }[];
}
interface TextSearchProvider {
  provideTextSearchResults(
    query: { pattern: string; isRegExp?: boolean; isCaseSensitive?: boolean; isWordMatch?: boolean },
    options: SearchOptions & { maxResults: number },
    progress: vscode.Progress<TextSearchMatch>,
    token: vscode.CancellationToken,
  ): Promise<TextSearchComplete>;
}
interface ProposedSearchApi {
  registerFileSearchProvider(scheme: string, provider: FileSearchProvider): vscode.Disposable;
  registerTextSearchProvider(scheme: string, provider: TextSearchProvider): vscode.Disposable;
}
/** TextSearchCompleteMessageType.Information */
const INFORMATION = 1;

export function registerFolderSearch(context: vscode.ExtensionContext, s: Services): void {
  const api = vscode.workspace as unknown as Partial<ProposedSearchApi>;
  try {
    context.subscriptions.push(api.registerFileSearchProvider!(SCHEME, { provideFileSearchResults: (q, o, t) => findFiles(s, q.pattern, o, t) }));
    context.subscriptions.push(api.registerTextSearchProvider!(SCHEME, { provideTextSearchResults: (q, o, p, t) => findText(s, q, o, p, t) }));
  } catch (err) {
    s.log.info(`search in shared folders is off: VS Code did not allow its proposed search API (${errorText(err)}); start VS Code with --enable-proposed-api peershare.peershare to turn it on`);
  }
}

/**
 * The folder a search runs in, as a ref: its content ID, key and address hints. The results' URIs
 * are built from it, so they carry the workspace folder's query whole: VS Code places a result in a
 * workspace folder only when the query is the same (one without the hints is in no folder, and
 * neither Quick Open nor the Search view shows it).
 */
function folderRef(folder: vscode.Uri): ContentRef | undefined {
  return contentRefOfUri(folder);
}

async function findFiles(s: Services, pattern: string, o: SearchOptions & { maxResults?: number }, token: vscode.CancellationToken): Promise<vscode.Uri[]> {
  const ref = folderRef(o.folder);
  if (!ref) return [];
  const tree = await s.files.tree(ref);
  const max = o.maxResults ?? Infinity;
  const out: vscode.Uri[] = [];
  for (const rel of tree.files()) {
    if (token.isCancellationRequested || out.length >= max) break;
    if (fuzzyMatches(pattern, rel) && pathIncluded(rel, o.includes ?? [], o.excludes ?? [])) out.push(vscode.Uri.from(folderUriParts(ref, rel)));
  }
  return out;
}

async function findText(
  s: Services,
  q: { pattern: string; isRegExp?: boolean; isCaseSensitive?: boolean; isWordMatch?: boolean },
  o: SearchOptions & { maxResults: number },
  progress: vscode.Progress<TextSearchMatch>,
  token: vscode.CancellationToken,
): Promise<TextSearchComplete> {
  const ref = folderRef(o.folder);
  if (!ref) return {};
  const tree = await s.files.tree(ref);
  const re = queryRegExp(q);
  let found = 0;
  let fetchBudget = MAX_FETCH_BYTES;
  const skipped: string[] = [];
  for (const rel of tree.files()) {
    if (token.isCancellationRequested || found >= o.maxResults) break;
    if (!pathIncluded(rel, o.includes ?? [], o.excludes ?? [])) continue;
    const size = tree.lookup(rel)?.size ?? 0;
    if (size > MAX_FILE_BYTES || size > fetchBudget) {
      skipped.push(rel);
      continue;
    }
    fetchBudget -= size; // counted whether or not it is cached already: a bound, not an account
    const uri = vscode.Uri.from(folderUriParts(ref, rel));
    const bytes = await s.files.readFile(uri);
    if (!looksLikeText(bytes)) continue;
    for (const m of findInText(Buffer.from(bytes).toString("utf8"), re, o.maxResults - found)) {
      const range = new vscode.Range(m.line, m.start, m.line, m.end);
      progress.report({ uri, ranges: [range], preview: { text: m.text, matches: [new vscode.Range(0, m.start, 0, m.end)] } });
      found++;
    }
  }
  const message = skipped.length
    ? [{ text: `peershare: ${skipped.length} file(s) of this shared folder were not searched (over ${MAX_FILE_BYTES / 1048576} MiB, or past the ${MAX_FETCH_BYTES / 1048576} MiB one search fetches), e.g. ${skipped[0]}. Open them, or Save Shared Folder As… and search the copy.`, type: INFORMATION }]
    : undefined;
  return { limitHit: found >= o.maxResults, ...(message ? { message } : {}) };
}
