import { onEachBackend } from './backends.js';
import { asOfMetrics, measureAsOf } from './audit-as-of.js';
import { report, type Metric, type Results } from './report.js';

/**
 * `npm run bench -- audit`: each part of the audit measured on every backend, side by side in one
 * report. A part is a file of its own (audit-as-of.ts: state as of a past point).
 */
const parts: Array<{
  metrics: Metric[];
  measure: (
    client: Parameters<Parameters<typeof onEachBackend>[0]>[0],
    results: Results,
    backend: string,
  ) => Promise<void>;
}> = [{ metrics: asOfMetrics, measure: measureAsOf }];

export const auditBench = async () => {
  const results: Results = {};
  const backends = await onEachBackend(async (client, backend) => {
    for (const part of parts) await part.measure(client, results, backend);
  });
  report(
    'audit',
    parts.flatMap((part) => part.metrics),
    backends,
    results,
  );
};
