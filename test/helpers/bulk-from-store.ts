// A stand-in for the bulk transport in unit tests: every peer serves objects from one store.

import type { ContentStore } from "../../node-host/cas";
import { BulkClient, ObjectNotFoundError } from "../../node-host/transport/bulk";

/** A bulk client whose every peer serves from `source` (a sharer's store); `onGet` sees each request first and may delay it. */
export function bulkFrom(source: ContentStore, onGet: (id: Buffer) => Promise<void> | void = () => undefined): BulkClient {
  return {
    async getObject(_peer, id) {
      await onGet(id);
      const bytes = await source.get(id);
      if (!bytes) throw new ObjectNotFoundError(id);
      return bytes;
    },
    async pathTo() {
      return "tls";
    },
    async close() {},
  };
}
