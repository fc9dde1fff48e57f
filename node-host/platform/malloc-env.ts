// The C library's memory settings for the node-host processes peershare starts (the VS Code
// extension's node, the example systemd unit; `peershare start` run by hand can be given the same).
//
// glibc's malloc serves a large allocation (a chunk buffer, a transfer's object buffer) from a
// fresh mapping at first, but raises that threshold to the size of each such block freed, up to
// 32 MiB: from then on megabyte buffers come from the main heap, whose free space between
// long-lived small allocations is never returned. A node moving chunks of up to 4 MiB all day thus
// kept 20-30 MiB more resident memory every five minutes in the soak (resident anonymous memory
// less JS heap and ArrayBuffers), and with a fixed threshold a few MiB (same run). A fixed threshold
// (setting it turns the adjustment off) keeps every block above 128 KiB in a mapping of its own,
// returned to the system when freed; the buffer pools keep the hot ones warm, so the mapping cost
// is paid once per buffer, not per use. Other C libraries (musl, macOS, Windows) ignore the variable.

/** Environment variables for a node-host process (glibc reads them at process start). */
export const MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: "131072" };

/** `env` with the memory settings added; a variable `env` already sets is left as it is. */
export function withMallocSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...MALLOC_ENV, ...env };
}
