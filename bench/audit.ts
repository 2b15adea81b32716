import { auditVerifyBench } from './audit-verify.js';
import { report, type Metric, type Results } from './report.js';

/** One measurement of `npm run bench -- audit`, each in a file of its own. */
export type AuditPart = () => Promise<{ metrics: Metric[]; backends: string[]; results: Results }>;

/** The parts, run in this order and printed as one table. */
const parts: AuditPart[] = [auditVerifyBench];

export const auditBench = async () => {
  const metrics: Metric[] = [];
  const backends = new Set<string>();
  const results: Results = {};
  for (const part of parts) {
    const measured = await part();
    metrics.push(...measured.metrics);
    for (const backend of measured.backends) backends.add(backend);
    Object.assign(results, measured.results);
  }
  report('audit', metrics, [...backends], results);
};
