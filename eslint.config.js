import js from '@eslint/js';
import boundaries from 'eslint-plugin-boundaries';
import tseslint from 'typescript-eslint';

/**
 * The architecture's parts (see README "Layout") and what each may import. Every file under src
 * belongs to exactly one part; a file that matches none is an error (boundaries/no-unknown-files),
 * so a new folder has to be placed in the architecture before it can exist.
 */
const LAYERS = [
  { type: 'domain', pattern: 'src/domain' },
  { type: 'application', pattern: 'src/application' },
  { type: 'event-store', pattern: 'src/storage/event-store' },
  { type: 'blobs', pattern: 'src/storage/blobs' },
  { type: 'storage', pattern: 'src/storage' },
  { type: 'projections', pattern: 'src/projections' },
  { type: 'gateway', pattern: 'src/gateway' },
  { type: 'harvester', pattern: 'src/harvester' },
  { type: 'audit', pattern: 'src/audit' },
  { type: 'client', pattern: 'src/client' },
  { type: 'app', pattern: 'src/app' },
  { type: 'cli', pattern: 'src/cli' },
  { type: 'shared', pattern: 'src/shared' },
];

/** The composition root and the CLI put every part together. */
const EVERY_LAYER = LAYERS.map((layer) => layer.type);

/** `from` may import itself and the listed layers. */
const may = (from, ...to) => ({
  from: { element: { type: from } },
  allow: { to: { element: { types: { anyOf: [from, ...to] } } } },
});

/**
 * `from` may name the listed layers' types but not run their code: the gateway passes the SQL
 * client it is given to the read side's queries, and must not write SQL of its own.
 */
const mayNameTypesOf = (from, ...to) => ({
  from: { element: { type: from } },
  allow: { to: { element: { types: { anyOf: to } } }, dependency: { kind: 'type' } },
});

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'packages/*/dist/',
      'node_modules/',
      'data/',
      'console/dist/',
      'test-artifacts/',
    ],
  },
  // The launcher is plain JavaScript run by Node.
  { files: ['bin/**/*.js'], languageOptions: { globals: { process: 'readonly' } } },
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
      'boundaries/elements': LAYERS,
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
            may('shared'),
            may('event-store', 'domain', 'shared'),
            may('blobs', 'domain', 'shared'),
            may('storage', 'event-store', 'blobs', 'domain', 'shared'),
            may('application', 'domain', 'event-store', 'shared'),
            may('projections', 'domain', 'event-store', 'storage', 'shared'),
            may(
              'gateway',
              'domain',
              'application',
              'projections',
              'event-store',
              'blobs',
              'client',
              'shared',
            ),
            mayNameTypesOf('gateway', 'storage'),
            may(
              'harvester',
              'domain',
              'application',
              'event-store',
              'storage',
              'projections',
              'shared',
            ),
            may('audit', 'domain', 'event-store', 'storage', 'projections', 'shared'),
            // The client ships as a package of its own (packages/posbus-client): it imports no layer.
            may('client'),
            may('app', ...EVERY_LAYER),
            may('cli', ...EVERY_LAYER),
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
