import { openKurrentDbEventStore } from '../../src/storage/kurrentdb/kurrentdb-event-store.js';
import { eventStoreContract } from './event-store.contract.js';

// KurrentDB cannot run on the development machines; compose.yaml provides one.
const url = process.env.KURRENTDB_URL;

describe('event store on KurrentDB', function () {
  before(function () {
    if (!url) {
      console.log(
        '    skipped: KURRENTDB_URL is not set (docker compose up kurrentdb provides one)',
      );
      this.skip();
    }
  });
  eventStoreContract({
    commitHooks: false,
    open: () => openKurrentDbEventStore(url!, { log: { warn: () => {} } }),
  });
});
