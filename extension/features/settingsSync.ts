// The `peershare.*` settings in the running node: pushed in through config.set once the node is
// ready and whenever one changes; a setting that applies only at the node's next start (or that
// the node could not take) gets an offer to restart the node, once per setting and change.
import * as vscode from "vscode";
import { errorText } from "../nodeHost";
import type { Services } from "../services";
import { configChanges, planSettingsChange, SYNCED_AT_START, type SettingKey, unsupportedKeys } from "../settings";

export function registerSettingsSync(context: vscode.ExtensionContext, s: Services): void {
  const offeredRestartFor = new Set<string>();
  const offerRestart = async (keys: string[], why: string): Promise<void> => {
    const fresh = keys.filter((k) => !offeredRestartFor.has(k));
    if (!fresh.length) return;
    fresh.forEach((k) => offeredRestartFor.add(k));
    const choice = await vscode.window.showInformationMessage(
      `peershare: ${fresh.map((k) => `peershare.${k}`).join(", ")} ${why}. Restart the node to apply ${fresh.length === 1 ? "it" : "them"}?`,
      "Restart Node",
    );
    if (choice === "Restart Node") await vscode.commands.executeCommand("peershare.restartNode");
  };

  s.data.whenStarted(async () => {
    const pending = await applyLive(s, SYNCED_AT_START);
    if (pending.length) void offerRestart(pending, "will apply when the node restarts");
  });

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration("peershare")) return;
      const keys = s.settings.reload();
      if (!keys.length) return;
      s.log.info(`settings changed: ${keys.join(", ")}`);
      if (!s.node.started) return; // the node takes them when it starts
      void (async () => {
        const plan = planSettingsChange(keys);
        const needRestart = [...plan.restart, ...(await applyLive(s, plan.live, true))];
        keys.forEach((k) => offeredRestartFor.delete(k));
        if (needRestart.length) await offerRestart(needRestart, "changed");
      })();
    }),
  );
}

/** Pushes settings into the running node; returns the settings that need a restart. */
async function applyLive(s: Services, keys: SettingKey[], always = false): Promise<SettingKey[]> {
  if (!s.host.isRunning || !keys.length) return [];
  const needRestart: SettingKey[] = [];
  let nodeConfig;
  try {
    nodeConfig = await s.host.request("config.get", {});
  } catch (err) {
    s.log.warn(`config.get failed: ${errorText(err)}`);
    return keys;
  }
  const unknown = unsupportedKeys(nodeConfig, keys);
  if (unknown.length) s.log.info(`this node does not support ${unknown.map((k) => `peershare.${k}`).join(", ")} yet; left unchanged`);
  for (const change of configChanges(s.settings.current, nodeConfig, keys, always)) {
    try {
      const r = await s.host.request("config.set", { key: change.key, value: change.value });
      s.log.info(`config.set ${change.key}=${change.value}: ${r.appliedLive ? "applied" : "applies at the next start"}`);
      if (!r.appliedLive) needRestart.push(change.setting);
    } catch (err) {
      s.log.warn(`config.set ${change.key} failed: ${errorText(err)}`);
      needRestart.push(change.setting);
    }
  }
  return needRestart;
}
