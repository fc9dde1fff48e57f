// Loading the packages that carry native code (node-datachannel, @napi-rs/blake-hash,
// @napi-rs/keyring) without letting a missing or broken one stop the node. Each ships its binaries
// as one npm package per platform; on a platform none was built for, or in an install that lost the
// binary, require() throws, and the node runs without that part instead (TLS only, BLAKE3 in
// JavaScript, keys in the key file) and says so.

/** A native package: the module, or why it is not there, in words for `peershare id`. */
export type NativeLoad<T> = { ok: true; module: T } | { ok: false; reason: string };

/** Loads `name` once; what it gave is remembered (a failed load is not retried). */
export function optionalNative<T>(name: string, load: () => unknown): () => NativeLoad<T> {
  let result: NativeLoad<T> | undefined;
  return () => (result ??= tryLoad<T>(name, load));
}

function tryLoad<T>(name: string, load: () => unknown): NativeLoad<T> {
  const report = process.report as (NodeJS.ProcessReport & { excludeNetwork?: boolean }) | undefined;
  const excluded = report?.excludeNetwork;
  // napi-rs loaders tell glibc from musl by process.report.getReport(), whose network part looks up
  // the host name of every open socket: loaded lazily, in a node with sockets open and no DNS
  // server answering, that took 20 s (seen in the network lab). The header it reads is all it needs.
  if (report && excluded !== undefined) report.excludeNetwork = true;
  try {
    return { ok: true, module: load() as T };
  } catch (err) {
    return { ok: false, reason: loadFailure(name, err) };
  } finally {
    if (report && excluded !== undefined) report.excludeNetwork = excluded;
  }
}

/** Why `name` did not load: not installed, or installed but its binary does not load here. */
export function loadFailure(name: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const first = (err instanceof Error ? err.message : String(err)).split("\n")[0];
  // "Cannot find module 'node-datachannel'": the package itself is missing; a message naming another
  // module (its platform package, or the binary) means the package is there but not for this platform.
  if (e?.code === "MODULE_NOT_FOUND" && first.includes(`'${name}'`)) return `${name} is not installed`;
  return `${name} does not load on ${process.platform}-${process.arch}: ${first}`;
}
