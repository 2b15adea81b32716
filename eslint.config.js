import js from '@eslint/js';
import boundaries from 'eslint-plugin-boundaries';
import tseslint from 'typescript-eslint';

/**
 * The architecture's parts (see README "Layout") and what each may import. Every file under src
 * belongs to exactly one part; a file that matches none is an error (boundaries/no-unknown-files),
 * so a new folder has to be placed in the architecture before it can exist.
 */
const LAYERS = [
  { type: 'domain', pattern: 'src/domain/**' },
  { type: 'application', pattern: 'src/application/**' },
  { type: 'storage-port', pattern: 'src/storage/event-store/{port,errors,metadata}.ts' },
  { type: 'blob-port', pattern: 'src/storage/blobs/port.ts' },
  { type: 'storage', pattern: 'src/storage/**' },
  { type: 'projections', pattern: 'src/projections/**' },
  { type: 'gateway', pattern: 'src/gateway/**' },
  { type: 'harvester', pattern: 'src/harvester/**' },
  { type: 'audit', pattern: 'src/audit/**' },
  { type: 'client', pattern: 'src/client/**' },
  { type: 'composition', pattern: 'src/{app,cli}/**' },
  { type: 'composition', pattern: 'src/main.ts' },
  { type: 'shared', pattern: 'src/{config,log}.ts' },
];

const may = (from, ...to) => ({
  from: { element: { type: from } },
  allow: { to: { element: { types: { anyOf: [from, ...to] } } } },
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { boundaries },
    settings: {
      'boundaries/elements': LAYERS.map((layer) => ({ ...layer, partialMatch: false })),
      'import/resolver': { typescript: { alwaysTryTypes: true } },
    },
    rules: {
      'boundaries/no-unknown-files': 'error',
      'boundaries/dependencies': [
        'error',
        {
          default: 'disallow',
          policies: [
            may('domain'),
            may('storage-port', 'domain'),
            may('blob-port', 'domain'),
            may('storage', 'storage-port', 'blob-port', 'domain', 'shared'),
            may('application', 'domain', 'storage-port', 'blob-port', 'shared'),
            may('projections', 'domain', 'storage-port', 'storage', 'shared'),
            may(
              'gateway',
              'domain',
              'application',
              'projections',
              'storage-port',
              'blob-port',
              'client',
              'shared',
            ),
            may(
              'harvester',
              'domain',
              'application',
              'storage-port',
              'storage',
              'projections',
              'shared',
            ),
            may('audit', 'domain', 'storage-port', 'storage', 'projections', 'shared'),
            may('client', 'domain'),
            may('shared', 'domain'),
            may(
              'composition',
              'domain',
              'application',
              'storage-port',
              'blob-port',
              'storage',
              'projections',
              'gateway',
              'harvester',
              'audit',
              'client',
              'shared',
            ),
          ],
        },
      ],
    },
  },
  {
    // The domain is pure: no I/O modules either.
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['node:*'], message: 'src/domain is pure: no I/O.' }] },
      ],
    },
  },
);
