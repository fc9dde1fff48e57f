// Runs a script's main function and exits with its outcome. The explicit exit matters: after
// node-datachannel has been used, closed connections keep the event loop alive.

export function runScript(main: () => Promise<unknown>): void {
  main().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}

/**
 * Runs `cleanup` (synchronous: kill child processes, remove temp dirs) if the process exits or is
 * interrupted while a bench runs; the returned function disarms it once the bench cleaned up itself.
 */
export function cleanupOnExit(cleanup: () => void): () => void {
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  process.once("exit", cleanup);
  return () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("exit", cleanup);
  };
}
