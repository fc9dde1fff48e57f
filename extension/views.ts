// Tree views (Peers, Routing Table, Shared Files, Teams, Fetch Audit) backed by the node's API
// results: their IDs, the provider each view is filled through, and the set of all of them.
import * as vscode from "vscode";
import type { TreeNode } from "./treeModel";

/** The IDs of the views (package.json's contributes.views). */
export const VIEW = {
  peers: "peershare.peers",
  routing: "peershare.routing",
  shared: "peershare.sharedFiles",
  teams: "peershare.teams",
  audit: "peershare.audit",
} as const;
export type ViewId = (typeof VIEW)[keyof typeof VIEW];

/** A view and the provider it shows. */
export interface NodeTreeView {
  view: vscode.TreeView<TreeNode>;
  provider: NodeTreeProvider;
}

/** A tree view whose content is a list of TreeNode descriptions, replaced on each refresh. */
export class NodeTreeProvider implements vscode.TreeDataProvider<TreeNode> {
  private nodes: TreeNode[] = [];
  private readonly parents = new Map<string, TreeNode>();
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined | void>();
  readonly onDidChangeTreeData = this.changed.event;

  set(nodes: TreeNode[]): void {
    this.nodes = nodes;
    this.parents.clear();
    const walk = (list: readonly TreeNode[], parent?: TreeNode) => {
      for (const n of list) {
        if (parent) this.parents.set(n.key, parent);
        if (n.children) walk(n.children, n);
      }
    };
    walk(nodes);
    this.changed.fire();
  }

  /** A row by its key, at any depth. */
  find(key: string): TreeNode | undefined {
    const search = (list: readonly TreeNode[]): TreeNode | undefined => {
      for (const n of list) {
        if (n.key === key) return n;
        const inner = n.children && search(n.children);
        if (inner) return inner;
      }
      return undefined;
    };
    return search(this.nodes);
  }

  /** Needed for TreeView.reveal. */
  getParent(node: TreeNode): TreeNode | undefined {
    return this.parents.get(node.key);
  }

  get items(): readonly TreeNode[] {
    return this.nodes;
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const state = node.children?.length
      ? node.expanded
        ? vscode.TreeItemCollapsibleState.Expanded
        : vscode.TreeItemCollapsibleState.Collapsed
      : vscode.TreeItemCollapsibleState.None;
    const item = new vscode.TreeItem(node.label, state);
    item.id = node.key;
    item.description = node.description;
    if (node.tooltip) item.tooltip = new vscode.MarkdownString(node.tooltip);
    if (node.icon) item.iconPath = new vscode.ThemeIcon(node.icon.id, node.icon.color ? new vscode.ThemeColor(node.icon.color) : undefined);
    item.contextValue = node.contextValue;
    if (node.open) item.command = { command: "peershare.openSharedItem", title: "Open", arguments: [node] };
    return item;
  }

  getChildren(node?: TreeNode): TreeNode[] {
    return node ? (node.children ?? []) : this.nodes;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/**
 * The peershare tree views of this window, made through create(): a view showing is a use of
 * peershare (`onShown` starts the node), and the API's snapshot reads each view's rows by its ID.
 */
export class TreeViews implements vscode.Disposable {
  private readonly all = new Map<ViewId, NodeTreeView>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly onShown: (view: vscode.TreeView<TreeNode>) => void) {}

  /** Creates the view `id` with its provider. */
  create(id: ViewId, showCollapseAll = false): NodeTreeView {
    const provider = new NodeTreeProvider();
    const view = vscode.window.createTreeView(id, { treeDataProvider: provider, showCollapseAll });
    this.all.set(id, { view, provider });
    this.disposables.push(
      provider,
      view,
      view.onDidChangeVisibility(() => {
        if (view.visible) this.onShown(view);
      }),
    );
    return { view, provider };
  }

  /** The rows of view `id`, as last rendered. */
  items(id: ViewId): readonly TreeNode[] {
    return this.all.get(id)?.provider.items ?? [];
  }

  /** The first of the views (in the order made) that shows now. */
  shown(): vscode.TreeView<TreeNode> | undefined {
    return [...this.all.values()].find((v) => v.view.visible)?.view;
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
    this.all.clear();
  }
}
