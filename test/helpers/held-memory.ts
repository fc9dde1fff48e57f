// What a test's data holds: JS heap and Buffer memory after full collections, with event-loop turns
// between them (a Buffer's memory is given back on a later turn than the collection that freed it).

import * as v8 from "node:v8";
import * as vm from "node:vm";

/** The collector, exposed to the test process. */
export function exposedGc(): () => void {
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

/** Heap and Buffer bytes held after three full collections. */
export async function heldMemory(gc: () => void): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
