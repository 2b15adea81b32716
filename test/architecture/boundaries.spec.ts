import assert from 'node:assert/strict';
import { ESLint } from 'eslint';

/**
 * The layers' import rules live in eslint.config.js; these cases prove that `npm run lint` refuses
 * an import across a boundary wherever the importing file sits, nested folders included.
 */
describe('architecture boundaries (npm run lint)', () => {
  const eslint = new ESLint();

  const boundaryErrors = async (filePath: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath });
    return (result?.messages ?? []).filter((m) => m.ruleId?.startsWith('boundaries/'));
  };

  const refused = [
    {
      what: 'a domain file in a nested folder importing storage',
      file: 'src/domain/world/probe.ts',
      code: "import type { EventStore } from '../../storage/event-store/port.js';\nexport type X = EventStore;\n",
    },
    {
      what: 'a domain file deep in a nested folder importing the gateway',
      file: 'src/domain/object/deep/probe.ts',
      code: "export * from '../../../gateway/http/api/api.js';\n",
    },
    {
      what: 'the gateway importing SQL internals of storage',
      file: 'src/gateway/http/api/routes/probe.ts',
      code: "export { quoteIdent } from '../../../../storage/sql/sql-client.js';\n",
    },
    {
      what: 'a domain file importing the application',
      file: 'src/domain/world/probe.ts',
      code: "export { createCommandBus } from '../../application/command-bus.js';\n",
    },
    {
      what: 'the application importing the gateway',
      file: 'src/application/world/probe.ts',
      code: "export { API_PREFIX } from '../../gateway/http/api/api.js';\n",
    },
    {
      what: 'the shipped client importing the server',
      file: 'src/client/probe.ts',
      code: "export * from '../gateway/posbus/tick-planner.js';\n",
    },
    {
      what: 'the shipped client importing the domain (it is packaged alone)',
      file: 'src/client/wire/probe.ts',
      code: "export type { Vec3 } from '../../domain/geometry.js';\n",
    },
  ];

  for (const { what, file, code } of refused) {
    it(`refuses ${what}`, async () => {
      const errors = await boundaryErrors(file, code);
      assert.ok(errors.length > 0, `expected a boundaries error for ${file}`);
    });
  }

  it('allows a nested domain file to import the domain', async () => {
    const errors = await boundaryErrors(
      'src/domain/world/probe.ts',
      "export { conflict } from '../errors.js';\n",
    );
    assert.deepEqual(errors, []);
  });

  it('lets the gateway name a storage type it passes on, but not run storage code', async () => {
    const typeOnly = await boundaryErrors(
      'src/gateway/posbus/probe.ts',
      "import type { SqlClient } from '../../storage/sql/sql-client.js';\nexport type Db = SqlClient;\n",
    );
    assert.deepEqual(typeOnly, []);
    const value = await boundaryErrors(
      'src/gateway/posbus/probe.ts',
      "import { openPostgresClient } from '../../storage/sql/postgres-client.js';\nexport const open = openPostgresClient;\n",
    );
    assert.ok(value.length > 0);
  });

  it('refuses a file under src that belongs to no layer', async () => {
    const errors = await boundaryErrors('src/somewhere/probe.ts', 'export const x = 1;\n');
    assert.ok(errors.some((e) => e.ruleId === 'boundaries/no-unknown-files'));
  });
});
