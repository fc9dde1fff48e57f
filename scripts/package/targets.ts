// The VS Code desktop targets a .vsix can be built for (`vsce package --target`), as the OS, CPU and
// C library that npm's platform packages declare in their "os", "cpu" and "libc" fields.

export type Libc = "glibc" | "musl";

export interface VsixTarget {
  /** VS Code's name for it. */
  name: string;
  /** As process.platform. */
  os: NodeJS.Platform;
  /** As process.arch. */
  cpu: string;
  /** Linux only: the C library (VS Code's "alpine-*" targets are musl). */
  libc?: Libc;
}

/** Every desktop target VS Code knows (its "web" target runs no Node.js, so it has no node-host). */
export const VSIX_TARGETS: readonly VsixTarget[] = [
  { name: "win32-x64", os: "win32", cpu: "x64" },
  { name: "win32-arm64", os: "win32", cpu: "arm64" },
  { name: "darwin-x64", os: "darwin", cpu: "x64" },
  { name: "darwin-arm64", os: "darwin", cpu: "arm64" },
  { name: "linux-x64", os: "linux", cpu: "x64", libc: "glibc" },
  { name: "linux-arm64", os: "linux", cpu: "arm64", libc: "glibc" },
  { name: "linux-armhf", os: "linux", cpu: "arm", libc: "glibc" },
  { name: "alpine-x64", os: "linux", cpu: "x64", libc: "musl" },
  { name: "alpine-arm64", os: "linux", cpu: "arm64", libc: "musl" },
];

export function targetNamed(name: string): VsixTarget {
  const t = VSIX_TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`unknown target "${name}"; one of ${VSIX_TARGETS.map((x) => x.name).join(", ")}`);
  return t;
}

/** The target of this machine (null where VS Code has none, e.g. FreeBSD). */
export function currentTarget(): VsixTarget | null {
  const libc = process.platform === "linux" ? runningLibc() : undefined;
  return VSIX_TARGETS.find((t) => t.os === process.platform && t.cpu === process.arch && t.libc === libc) ?? null;
}

/** glibc when Node reports a glibc version at run time, else musl. */
function runningLibc(): Libc {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? "glibc" : "musl";
}
