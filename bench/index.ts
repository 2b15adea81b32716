import { appendsBench } from './appends.js';
import { assetsBench } from './assets.js';
import { auditBench } from './audit.js';
import { eventStoreBench } from './eventstore.js';
import { harvesterBench } from './harvester.js';
import { posbusMemoryBench } from './posbus-memory.js';
import { posbusBench } from './posbus.js';
import { projectionsBench } from './projections.js';
import { restBench } from './rest.js';
import { substrateBench } from './substrate.js';

const benchmarks: Record<string, () => Promise<void>> = {
  eventstore: eventStoreBench,
  appends: appendsBench,
  projections: projectionsBench,
  rest: restBench,
  posbus: posbusBench,
  'posbus-memory': posbusMemoryBench,
  assets: assetsBench,
  harvester: harvesterBench,
  substrate: substrateBench,
  audit: auditBench,
};

const names = process.argv.slice(2);
const unknown = names.filter((name) => !(name in benchmarks));
if (unknown.length > 0) {
  console.error(
    `unknown benchmark ${unknown.join(', ')}; available: ${Object.keys(benchmarks).join(', ')}`,
  );
  process.exit(2);
}
for (const name of names.length > 0 ? names : Object.keys(benchmarks)) {
  await benchmarks[name]!();
}
