import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatNumber } from './stats.js';

export interface Metric {
  name: string;
  unit: string;
  /** The goal from the issue, for the backend it names. */
  goal?: { backend: string; value: number };
  /** What the research measured on this machine before this code existed. */
  research?: { backend: string; value: number };
}

export type Results = Record<string, Record<string, number>>; // metric -> backend -> value

const folder = '.bench';

/**
 * Prints figures per backend side by side, the goal and the research figure for reference, and
 * the ratio to a baseline run: `.bench/<name>-baseline.json` if you kept one, else the committed
 * `bench/baselines/<name>.json` (the first version of the code, before any optimisation), else
 * the previous run.
 */
export const report = (
  name: string,
  metrics: readonly Metric[],
  backends: readonly string[],
  results: Results,
) => {
  mkdirSync(folder, { recursive: true });
  const baselinePath = [
    join(folder, `${name}-baseline.json`),
    join(folder, `${name}-last.json`),
  ].find(existsSync);
  const baseline: Results | undefined = baselinePath
    ? JSON.parse(readFileSync(baselinePath, 'utf8'))
    : undefined;
  const header = [
    'metric',
    ...backends,
    'goal',
    'research',
    ...(baseline ? backends.map((b) => `${b} vs base`) : []),
  ];
  const rows = metrics.map((metric) => {
    const figures = backends.map((backend) =>
      formatNumber(results[metric.name]?.[backend], metric.unit === 'ms' ? 2 : 0),
    );
    const reference = (ref?: { backend: string; value: number }) =>
      ref ? `${formatNumber(ref.value, metric.unit === 'ms' ? 1 : 0)} (${ref.backend})` : '—';
    const ratios = baseline
      ? backends.map((backend) => {
          const now = results[metric.name]?.[backend];
          const then = baseline[metric.name]?.[backend];
          return now && then ? `${(now / then).toFixed(2)}×` : '—';
        })
      : [];
    return [
      `${metric.name} (${metric.unit})`,
      ...figures,
      reference(metric.goal),
      reference(metric.research),
      ...ratios,
    ];
  });
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ');
  console.log(`\n${name}${baselinePath ? ` (ratios against ${baselinePath})` : ''}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(folder, `${name}-last.json`), JSON.stringify(results, null, 2));
  writeFileSync(join(folder, `${name}-${stamp}.json`), JSON.stringify(results, null, 2));
  console.log(
    `\nsaved to ${folder}/${name}-last.json; copy it to ${folder}/${name}-baseline.json to keep it as the baseline`,
  );
};
