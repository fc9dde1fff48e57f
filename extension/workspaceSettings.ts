// The `peershare.*` settings as VS Code holds them for this window: the current values (the node's
// command line is built from them at each start) and, after a change, which ones changed.
// settings.ts turns them into node arguments and config.set calls.
import * as vscode from "vscode";
import { changedKeys, normalizeSettings, SETTING_KEYS, type PeershareSettings, type SettingKey } from "./settings";

/** Reads the `peershare.*` settings from VS Code's configuration. */
export function readSettings(): PeershareSettings {
  const cfg = vscode.workspace.getConfiguration("peershare");
  const raw: Partial<Record<SettingKey, unknown>> = {};
  for (const k of SETTING_KEYS) raw[k] = cfg.get(k);
  return normalizeSettings(raw);
}

/** The window's settings, read at activation and again on each configuration change. */
export class WorkspaceSettings {
  private values = readSettings();

  get current(): PeershareSettings {
    return this.values;
  }

  /** Reads the settings again; returns the keys whose values changed. */
  reload(): SettingKey[] {
    const next = readSettings();
    const keys = changedKeys(this.values, next);
    this.values = next;
    return keys;
  }
}
