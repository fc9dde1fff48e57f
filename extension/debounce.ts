// Trailing-edge debounce with a maximum wait, so a steady stream of events still refreshes. Pure.
export interface Debounced {
  (): void;
  cancel(): void;
  flush(): void;
}

export function debounce(fn: () => void, waitMs: number, maxWaitMs = waitMs * 4, timers = { setTimeout, clearTimeout }): Debounced {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let firstCall: number | undefined;
  const run = () => {
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = undefined;
    firstCall = undefined;
    fn();
  };
  const d = (() => {
    const now = Date.now();
    firstCall ??= now;
    if (timer !== undefined) timers.clearTimeout(timer);
    const wait = Math.max(0, Math.min(waitMs, firstCall + maxWaitMs - now));
    timer = timers.setTimeout(run, wait);
  }) as Debounced;
  d.cancel = () => {
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = undefined;
    firstCall = undefined;
  };
  d.flush = () => {
    if (timer !== undefined) run();
  };
  return d;
}
