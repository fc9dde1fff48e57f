// The signals that make a node leave gracefully (hand off, tell its neighbours, remove its control
// channel). Linux and macOS: Ctrl-C (SIGINT) and SIGTERM (kill, service managers). Windows has no
// SIGTERM to catch (killing a process there ends it at once, no handler runs), so a node there stops
// gracefully on Ctrl-C (SIGINT), Ctrl-Break (SIGBREAK), its console window closing (SIGHUP, with
// about 10 s before Windows ends it), or `peershare stop` over its named pipe.

/** The signals a node stops gracefully on, on `platform`. */
export function shutdownSignals(platform: NodeJS.Platform = process.platform): NodeJS.Signals[] {
  return platform === "win32" ? ["SIGINT", "SIGBREAK", "SIGHUP"] : ["SIGINT", "SIGTERM"];
}
