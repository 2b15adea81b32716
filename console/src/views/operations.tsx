import { useState } from 'preact/hooks';
import { listChains, readReadiness, type Chain, type Readiness } from '../api/operations.js';
import { ErrorLine, Panel, messageOf, useEvery } from './common.js';

const cell = (value: unknown) =>
  value === null || value === undefined
    ? '–'
    : typeof value === 'object'
      ? JSON.stringify(value)
      : String(value);

/** Columns shown first when a chain has them; any other field follows as it comes. */
const CHAIN_COLUMNS = [
  'id',
  'status',
  'chainId',
  'head',
  'lastBlock',
  'lag',
  'reorgs',
  'transfers',
];

export const OperationsView = () => {
  const [ready, setReady] = useState<Readiness | undefined>();
  const [chains, setChains] = useState<Chain[] | 'unavailable' | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEvery(2000, () => {
    readReadiness().then(
      (answer) => {
        setReady(answer);
        setError(undefined);
      },
      (failure) => setError(messageOf(failure)),
    );
    listChains().then(setChains, (failure) => setError(messageOf(failure)));
  });
  const chainColumns =
    chains && chains !== 'unavailable'
      ? [
          ...CHAIN_COLUMNS.filter((c) => chains.some((chain) => c in chain)),
          ...[...new Set(chains.flatMap((chain) => Object.keys(chain)))].filter(
            (c) => !CHAIN_COLUMNS.includes(c),
          ),
        ]
      : [];
  return (
    <div class="stack">
      <ErrorLine error={error} />
      <Panel title="Service">
        {ready ? (
          <p>
            Status <strong data-testid="ready-status">{ready.status}</strong> · event store{' '}
            {ready.eventStore.kind} at <code>{ready.eventStore.head ?? '–'}</code>
            {ready.integrity ? (
              <>
                {' '}
                · integrity <strong>{cell(ready.integrity.status)}</strong>
                {ready.integrity.verifiedAt ? ` (verified ${ready.integrity.verifiedAt})` : ''}
              </>
            ) : (
              ' · integrity: not reported by this server'
            )}
          </p>
        ) : (
          <p>Loading…</p>
        )}
      </Panel>
      <Panel title="Projections">
        {ready && (
          <div class="table-wrap">
            <table data-testid="projections">
              <caption class="sr-only">Projections: position, lag and status</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Status</th>
                  <th scope="col">Position</th>
                  <th scope="col">Lag (events)</th>
                  <th scope="col">Rebuild</th>
                </tr>
              </thead>
              <tbody>
                {ready.projections.map((p) => (
                  <tr key={p.name} data-projection={p.name}>
                    <th scope="row">{p.name}</th>
                    <td class={p.error ? 'bad' : 'good'}>
                      {p.status ??
                        (p.error ? `failed: ${p.error}` : p.lag === 0 ? 'caught up' : 'running')}
                    </td>
                    <td>
                      <code>{cell(p.position)}</code>
                    </td>
                    <td>{cell(p.lag)}</td>
                    <td>
                      {p.rebuild && p.rebuild.total
                        ? `${Math.round(((p.rebuild.done ?? 0) / p.rebuild.total) * 100)} %`
                        : '–'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Panel>
      <Panel title="Chains">
        {chains === undefined ? (
          <p>Loading…</p>
        ) : chains === 'unavailable' ? (
          <p>This server does not report chains.</p>
        ) : chains.length === 0 ? (
          <p data-testid="no-chains">
            No chains are followed (configure HARVESTER_CONFIG or CHAINS).
          </p>
        ) : (
          <div class="table-wrap">
            <table data-testid="chains">
              <thead>
                <tr>
                  {chainColumns.map((c) => (
                    <th scope="col" key={c}>
                      {c}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {chains.map((chain) => (
                  <tr key={chain.id}>
                    {chainColumns.map((c) => (
                      <td key={c}>{cell(chain[c])}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Panel>
    </div>
  );
};
