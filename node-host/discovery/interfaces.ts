// Which local IPv4 interfaces LAN discovery runs on, given the address the node listens on.

import * as os from "node:os";

export interface LanInterface {
  name: string;
  address: string;
}

/** True for addresses that never leave the machine: 127.0.0.0/8, ::1, "localhost". */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * The interfaces to announce on and listen for announcements on: every non-loopback IPv4 address
 * when the node listens on all addresses (0.0.0.0, or :: for both families), only the one it listens on otherwise, and
 * none for a loopback address (there is no LAN behind it).
 */
export function lanInterfaces(host: string, all: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces()): LanInterface[] {
  if (isLoopbackHost(host)) return [];
  const wildcard = host === "0.0.0.0" || host === "::" || host === "";
  const out: LanInterface[] = [];
  for (const [name, infos] of Object.entries(all)) {
    for (const info of infos ?? []) {
      // Node reports family as "IPv4" (or the number 4 on some 18.x releases)
      const v4 = info.family === "IPv4" || (info.family as unknown) === 4;
      if (!v4 || info.internal) continue;
      if (wildcard || info.address === host) out.push({ name, address: info.address });
    }
  }
  return out;
}
