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
