import { Command } from 'commander';
import { EXIT, fail } from './exit.js';
import { harvestAction, resumeAction } from './harvest.js';
import { rebuildAction, retryAction, statusAction } from './projections.js';
import { replayAction } from './replay.js';
import { serveAction } from './serve.js';
import {
  collect,
  exportAction,
  publicKeyAction,
  sealAction,
  sealsAction,
  verifyAction,
} from './audit.js';
import { demoAction } from './demo.js';
import { consoleBuildAction } from './console.js';

/** The `odyssey` command: its subcommands and their help; each action lives in its own file. */
const program = new Command('odyssey')
  .description('Event-sourced back end for Odyssey shared 3D worlds')
  .showHelpAfterError()
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : EXIT.usage));

program
  .command('serve')
  .description(
    'run the HTTP server (PGlite under ./data unless DATABASE_URL / KURRENTDB_URL are set)',
  )
  .action(serveAction);

const harvest = program
  .command('harvest')
  .description(
    'follow the configured chains (HARVESTER_CONFIG or CHAINS) into the event store, without the HTTP server',
  )
  .action(harvestAction);

harvest
  .command('resume')
  .argument('<chain>', 'the id of a halted chain')
  .option('--reason <text>', 'why, recorded with the event')
  .description(
    'let a chain halted by a deep reorg go on: its harvester re-syncs it from the common ancestor',
  )
  .action(resumeAction);

const projections = program
  .command('projections')
  .description('read models: where they stand, and rebuilding them');

projections
  .command('status')
  .description("print each projection's position, lag (events not yet projected) and rate")
  .action(statusAction);

projections
  .command('retry')
  .argument('<name>', 'a projection (or reactor) that failed')
  .description(
    'start a failed projection again from its checkpoint, once the cause is fixed; a running server picks it up within seconds',
  )
  .action(retryAction);

projections
  .command('rebuild')
  .argument('[names...]', 'projections to rebuild (all when none is named)')
  .description(
    'project the whole log into shadow tables and swap them in; safe to interrupt and run again',
  )
  .action(rebuildAction);

const audit = program
  .command('audit')
  .description('tamper evidence: verify the log, seal it, export it for an independent check');

audit
  .command('verify')
  .option(
    '--from-seal <n>',
    'start at seal n (its stream heads checked against it) instead of the beginning',
  )
  .option('--public-key <file>', 'also trust seals signed by this key (PEM; repeatable)', collect)
  .description(
    "check every stream's hash chain, the global order and every seal; exit 65 naming the first event or seal that fails",
  )
  .action(verifyAction);

audit
  .command('seal')
  .description(
    'verify the whole log, then sign a seal of it (a running server also seals every AUDIT_SEAL_INTERVAL_SECONDS)',
  )
  .action(sealAction);

audit.command('seals').description('print every seal, one JSON line each').action(sealsAction);

audit
  .command('public-key')
  .description("print the seal key's public half (PEM) for auditors")
  .action(publicKeyAction);

audit
  .command('export')
  .requiredOption(
    '--out <folder>',
    'folder to write events.jsonl, seals.jsonl, manifest.json and public-key.pem into',
  )
  .option('--from <position|time>', 'first event: a position or an ISO time (inclusive)')
  .option('--to <position|time>', 'last event: a position or an ISO time (inclusive)')
  .option('--stream-prefix <prefix>', 'only streams starting with this (repeatable)', collect)
  .description(
    'write events as JSON Lines with their hashes, and the seals, for tools/verify-export.mjs',
  )
  .action(exportAction);
program
  .command('replay')
  .argument('[names...]', 'projections to replay (all when none is named)')
  .requiredOption('--to <position|time>', 'a position of the log, or an ISO 8601 time')
  .requiredOption(
    '--into <schema|folder>',
    'a PostgreSQL schema (with DATABASE_URL) or a PGlite data folder, not the live one',
  )
  .description(
    'build the read models as they were at a past point into a schema or folder of their own, with progress; live tables are not touched',
  )
  .action(replayAction);
program
  .command('console')
  .description('the web console served at /console')
  .command('build')
  .description('bundle the console now (`serve` does it by itself when the bundle is stale)')
  .action(consoleBuildAction);

program
  .command('demo')
  .description(
    'against a running server: create a world with objects and let simulated walkers move in it over PosBus (watch it in the console)',
  )
  .option('--url <url>', 'the server', `http://localhost:${process.env.PORT ?? 4000}`)
  .option('--walkers <n>', 'how many walkers (guests)', '6')
  .option('--objects <n>', 'how many objects in the new world', '8')
  .option('--seconds <s>', 'stop after this long (default: until Ctrl-C)')
  .option('--world <id>', 'walk in this world instead of creating one')
  .action(demoAction);

await program.parseAsync(process.argv).catch(fail);
