import { asOfMetrics, measureAsOf } from './audit-as-of.js';
import { auditVerifyBench } from './audit-verify.js';
import { onEachBackend } from './backends.js';
import { report, type Metric, type Results } from './report.js';

/** One measurement of `npm run bench -- audit`, each in a file of its own. */
export type AuditPart = () => Promise<{ metrics: Metric[]; backends: string[]; results: Results }>;

/** State as of a past point (audit-as-of.ts), on every backend. */
const asOfBench: AuditPart = async () => {
  const results: Results = {};
  const backends = await onEachBackend((client, backend) => measureAsOf(client, results, backend));
  return { metrics: asOfMetrics, backends, results };
};

/** The parts, run in this order and printed as one table. */
const parts: AuditPart[] = [auditVerifyBench, asOfBench];

export const auditBench = async () => {
  const metrics: Metric[] = [];
  const backends = new Set<string>();
  const results: Results = {};
  for (const part of parts) {
    const measured = await part();
    metrics.push(...measured.metrics);
    for (const backend of measured.backends) backends.add(backend);
    for (const [metric, values] of Object.entries(measured.results)) {
      results[metric] = { ...results[metric], ...values };
    }
  }
  report('audit', metrics, [...backends], results);
};
