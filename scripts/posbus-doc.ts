import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import {
  CLIENT_MESSAGE_DOCS,
  CLOSE_CODE_DOCS,
  ERROR_CODE_DOCS,
  SERVER_MESSAGE_DOCS,
  TRANSPORT_CLOSE_DOCS,
} from '../src/client/wire/catalog.js';
import { WIRE_EVENT_DOCS } from '../src/client/wire/events.js';
import { ClientOp, CloseCode, ServerOp } from '../src/client/wire/protocol.js';
import { MESSAGE_CLASS, RATE_BUDGETS, type RateClass } from '../src/client/wire/rate-budgets.js';

/**
 * docs/posbus.md's tables come from the protocol's definitions in code (src/client/wire): the
 * prose is written by hand, and each `<!-- generated: name -->` … `<!-- end generated -->` block
 * is rewritten from the catalog. `npm run docs:posbus` writes the document; with `--check` (and
 * in test/client/protocol-doc.spec.ts) it fails when the document is out of date.
 */
export const DOCUMENT = fileURLToPath(new URL('../docs/posbus.md', import.meta.url));

const hex = (op: number) => `\`0x${op.toString(16).padStart(2, '0')}\``;
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const table = (head: string[], rows: string[][]) =>
  [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');

const entries = <K extends string, V>(record: Readonly<Record<K, V>>) =>
  Object.entries(record) as Array<[K, V]>;

export const GENERATED: Record<string, () => string> = {
  'client-messages': () =>
    table(
      ['type', 'name', 'budget', 'body'],
      entries(CLIENT_MESSAGE_DOCS).map(([key, doc]) => [
        hex(ClientOp[key]),
        doc.name,
        MESSAGE_CLASS[key],
        doc.body,
      ]),
    ),
  'server-messages': () =>
    table(
      ['type', 'name', 'body'],
      entries(SERVER_MESSAGE_DOCS).map(([key, doc]) => [hex(ServerOp[key]), doc.name, doc.body]),
    ),
  'event-types': () =>
    table(
      ['type', 'meaning'],
      entries(WIRE_EVENT_DOCS).map(([type, meaning]) => [`\`${type}\``, meaning]),
    ),
  'close-codes': () =>
    table(
      ['code', 'when', 'reconnect'],
      [
        ...TRANSPORT_CLOSE_DOCS.map((c) => ({
          code: c.code,
          when: c.when,
          reconnect: c.reconnect,
        })),
        ...entries(CLOSE_CODE_DOCS).map(([key, doc]) => ({ code: CloseCode[key], ...doc })),
      ]
        .sort((a, b) => a.code - b.code)
        .map((c) => [String(c.code), c.when, c.reconnect ? 'yes, resume' : 'no']),
    ),
  'error-codes': () =>
    table(
      ['code', 'when'],
      entries(ERROR_CODE_DOCS).map(([code, when]) => [`\`${code}\``, when]),
    ),
  'rate-budgets': () =>
    table(
      [
        'class',
        'messages',
        'tokens per second',
        'burst',
        'closed above, per second',
        'a dropped one',
      ],
      entries(RATE_BUDGETS).map(([name, budget]: [RateClass, (typeof RATE_BUDGETS)[RateClass]]) => [
        name,
        budget.ops.map((op) => `\`${CLIENT_MESSAGE_DOCS[op].name}\``).join(', '),
        String(budget.perSecond),
        String(budget.burst),
        String(budget.closeAbovePerSecond),
        budget.whenDropped,
      ]),
    ),
};

const BLOCK = /(<!-- generated: ([a-z-]+) -->)[\s\S]*?(<!-- end generated -->)/g;

/** The document with every generated block rewritten, formatted as `npm run lint` wants it. */
export const renderDocument = async (current: string) => {
  const names = new Set<string>();
  const text = current.replace(BLOCK, (_, open: string, name: string, close: string) => {
    const generate = GENERATED[name];
    if (!generate) throw new Error(`docs/posbus.md: no generated block named ${name}`);
    names.add(name);
    return `${open}\n\n${generate()}\n\n${close}`;
  });
  const missing = Object.keys(GENERATED).filter((name) => !names.has(name));
  if (missing.length > 0) throw new Error(`docs/posbus.md lacks blocks: ${missing.join(', ')}`);
  const options = await resolveConfig(DOCUMENT);
  return format(text, { ...options, filepath: DOCUMENT });
};

const main = async () => {
  const current = await readFile(DOCUMENT, 'utf8');
  const rendered = await renderDocument(current);
  if (process.argv.includes('--check')) {
    if (rendered !== current) {
      console.error('docs/posbus.md is out of date: run npm run docs:posbus');
      process.exit(1);
    }
    return;
  }
  await writeFile(DOCUMENT, rendered);
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
