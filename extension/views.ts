// Tree views (Peers, Routing Table, Shared Files) backed by the node's API results.
import * as vscode from "vscode";
import type { TreeNode } from "./treeModel";

/** A tree view whose content is a list of TreeNode descriptions, replaced on each refresh. */
export class NodeTreeProvider implements vscode.TreeDataProvider<TreeNode> {
  private nodes: TreeNode[] = [];
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined | void>();
  readonly onDidChangeTreeData = this.changed.event;

  set(nodes: TreeNode[]): void {
    this.nodes = nodes;
    this.changed.fire();
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
