import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DuplicateEventId,
  EventStoreError,
  EventTooLarge,
  InvalidEvent,
  InvalidExpectedRevision,
  InvalidLimit,
  InvalidRevision,
  InvalidStreamName,
  StreamDeleted,
  WrongExpectedVersion,
} from '../../src/storage/event-store/errors.js';
import { verifyChain } from '../../src/storage/event-store/hash-chain.js';
import type {
  EventStore,
  ExpectedRevision,
  NewEvent,
  RecordedEvent,
} from '../../src/storage/event-store/port.js';
import type { SqlQueryable } from '../../src/storage/sql/sql-client.js';
import { appendMany, collect, newEvent, testMetadata, uniqueName } from '../support/events.js';

export interface ContractSubject {
  /** Starts an empty log for the next test, where the adapter can (optional). */
  reset?(): void;
  /** A store on the current log; several opened in one test share it. */
  open(hooks?: {
    afterBegin?: (tx: SqlQueryable) => Promise<void>;
    beforeCommit?: (tx: SqlQueryable) => Promise<void>;
  }): Promise<EventStore>;
  /** Alters a stored event's data behind the store's back, as an attacker with database access would. */
  tamper?(store: EventStore, stream: string, revision: number): Promise<void>;
  /** Whether open() honours hooks that hold a transaction open before commit. */
  commitHooks: boolean;
}

const rejectsWith = async <E extends Error>(
  work: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
  check?: (error: E) => void,
) => {
  await assert.rejects(work, (error: unknown) => {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    check?.(error);
    return true;
  });
};

const ids = (events: readonly RecordedEvent[]) => events.map((event) => event.id);

export const eventStoreContract = (subject: ContractSubject) => {
  let store: EventStore;
  beforeEach(async () => {
    subject.reset?.();
    store = await subject.open();
  });
  afterEach(async () => {
    await store.close();
  });

  describe('expected revision', () => {
    const cases: Array<[string, boolean, ExpectedRevision, boolean, number | 'no_stream']> = [
      ['any on a new stream', false, 'any', true, 'no_stream'],
      ['any on an existing stream', true, 'any', true, 1],
      ['no_stream on a new stream', false, 'no_stream', true, 'no_stream'],
      ['no_stream on an existing stream', true, 'no_stream', false, 1],
      ['stream_exists on a new stream', false, 'stream_exists', false, 'no_stream'],
      ['stream_exists on an existing stream', true, 'stream_exists', true, 1],
      ['the exact revision', true, 1, true, 1],
      ['a stale revision', true, 0, false, 1],
      ['a revision on a new stream', false, 0, false, 'no_stream'],
    ];
    for (const [name, existing, expected, succeeds, actual] of cases) {
      it(`${succeeds ? 'accepts' : 'rejects'} ${name}`, async () => {
        const stream = uniqueName('rev');
        if (existing) await store.append(stream, [newEvent('A'), newEvent('B')]);
        const attempt = store.append(stream, [newEvent('C')], { expectedRevision: expected });
        if (succeeds) {
          const result = await attempt;
          assert.equal(result.nextExpectedRevision, existing ? 2 : 0);
        } else {
          await rejectsWith(attempt, WrongExpectedVersion, (error) => {
            assert.equal(error.code, 'wrong_expected_version');
            assert.equal(error.actual, actual);
            assert.equal(error.expected, expected);
          });
          assert.equal((await store.readStream(stream)).length, existing ? 2 : 0);
        }
      });
    }

    it('lets exactly one of two concurrent no_stream creators win', async () => {
      const stream = uniqueName('race');
      const results = await Promise.allSettled(
        [1, 2].map(() =>
          store.append(stream, [newEvent('Created')], { expectedRevision: 'no_stream' }),
        ),
      );
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.ok(rejected?.reason instanceof WrongExpectedVersion);
      assert.equal((await store.readStream(stream)).length, 1);
    });
  });

  describe('idempotent appends', () => {
    it('answers a retry with the same result and writes nothing new', async () => {
      const stream = uniqueName('idem');
      const batch = [newEvent('A'), newEvent('B')];
      const first = await store.append(stream, batch, { expectedRevision: 'no_stream' });
      const retry = await store.append(stream, batch, { expectedRevision: 'no_stream' });
      assert.deepEqual(retry, first);
      assert.deepEqual(ids(await store.readStream(stream)), ids(batch as RecordedEvent[]));
    });

    it('treats the same ids at another revision than expected as reuse, not a retry', async () => {
      const stream = uniqueName('moved');
      const [first, second] = [newEvent('A'), newEvent('B')];
      const original = await store.append(stream, [first, second], {
        expectedRevision: 'no_stream',
      });
      await rejectsWith(store.append(stream, [second], { expectedRevision: 1 }), DuplicateEventId);
      await rejectsWith(
        store.append(stream, [first, second], { expectedRevision: 0 }),
        DuplicateEventId,
      );
      assert.deepEqual(
        await store.append(stream, [first, second], { expectedRevision: 'any' }),
        original,
      );
      assert.deepEqual(await store.append(stream, [second], { expectedRevision: 0 }), original);
      assert.equal((await store.readStream(stream)).length, 2);
    });

    it('rejects an id reused in another batch, in the same or another stream', async () => {
      const stream = uniqueName('dup');
      const used = newEvent('A');
      await store.append(stream, [used]);
      await rejectsWith(store.append(stream, [newEvent('B'), used]), DuplicateEventId);
      await rejectsWith(store.append(uniqueName('other'), [used]), DuplicateEventId);
      await rejectsWith(store.append(stream, [used, newEvent('C')]), EventStoreError);
      assert.deepEqual(ids(await store.readStream(stream)), [used.id]);
    });
  });

  describe('reading', () => {
    it('reads a stream forwards and backwards, from a revision, with a limit', async () => {
      const stream = uniqueName('read');
      await appendMany(store, stream, 10);
      const revisions = (events: RecordedEvent[]) => events.map((e) => e.revision);
      assert.deepEqual(revisions(await store.readStream(stream)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.deepEqual(revisions(await store.readStream(stream, { fromRevision: 7 })), [7, 8, 9]);
      assert.deepEqual(
        revisions(await store.readStream(stream, { fromRevision: 2, limit: 3 })),
        [2, 3, 4],
      );
      assert.deepEqual(
        revisions(await store.readStream(stream, { direction: 'backwards', limit: 3 })),
        [9, 8, 7],
      );
      assert.deepEqual(
        revisions(await store.readStream(stream, { direction: 'backwards', fromRevision: 1 })),
        [1, 0],
      );
      assert.deepEqual(await store.readStream(uniqueName('missing')), []);
    });

    it('reads all events in order, pages with positions, and filters by type and stream prefix', async () => {
      const run = uniqueName('all');
      const before = await store.headPosition();
      await store.append(`${run}-world-1`, [newEvent('WorldCreated'), newEvent('ObjectSpawned')]);
      await store.append(`${run}-user-1`, [newEvent('UserSignedIn')]);
      await store.append(`${run}-world-2`, [newEvent('WorldCreated')]);
      const mine = (events: RecordedEvent[]) => events.filter((e) => e.stream.startsWith(run));
      const all = mine(await store.readAll({ from: before, limit: 100 }));
      assert.deepEqual(
        all.map((e) => e.type),
        ['WorldCreated', 'ObjectSpawned', 'UserSignedIn', 'WorldCreated'],
      );
      assert.ok(
        all.every((e, i) => i === 0 || e.position > all[i - 1]!.position),
        'positions increase',
      );

      const afterFirst = mine(await store.readAll({ from: all[0]!.position, limit: 2 }));
      assert.deepEqual(ids(afterFirst), ids(all.slice(1, 3)));
      const backwards = mine(await store.readAll({ direction: 'backwards', limit: 4 }));
      assert.deepEqual(ids(backwards), ids(all).reverse());

      const byType = await store.readAll({
        filter: { eventTypes: ['WorldCreated'], streamPrefixes: [run] },
      });
      assert.deepEqual(
        byType.map((e) => e.stream),
        [`${run}-world-1`, `${run}-world-2`],
      );
      const byPrefix = await store.readAll({ filter: { streamPrefixes: [`${run}-world-`] } });
      assert.deepEqual(
        byPrefix.map((e) => e.type),
        ['WorldCreated', 'ObjectSpawned', 'WorldCreated'],
      );
      const both = await store.readAll({
        filter: { eventTypes: ['UserSignedIn', 'ObjectSpawned'], streamPrefixes: [`${run}-user-`] },
      });
      assert.deepEqual(
        both.map((e) => e.type),
        ['UserSignedIn'],
      );
    });

    it('round-trips metadata, completing what the writer left out', async () => {
      const stream = uniqueName('meta');
      const chain = {
        chainId: '1',
        blockNumber: 12,
        blockHash: '0xabc',
        txHash: '0xdef',
        logIndex: 3,
      };
      const explicit = testMetadata({
        commandId: 'cmd-1',
        causationId: 'cause-1',
        occurredAt: '2026-11-21T10:00:00.000Z',
        schemaVersion: 2,
        source: 'harvester',
        chain,
        requestIp: '127.0.0.1',
      });
      await store.append(stream, [newEvent('Explicit', { a: 1 }, explicit), newEvent('Derived')]);
      const [first, second] = await store.readStream(stream);
      assert.deepEqual(first?.metadata, explicit);
      assert.deepEqual(first?.data, { a: 1 });
      assert.equal(second?.metadata.causationId, 'corr-1');
      assert.equal(second?.metadata.schemaVersion, 1);
      assert.ok(!Number.isNaN(Date.parse(second?.metadata.occurredAt ?? '')));
      assert.ok(second?.recordedAt instanceof Date);
    });
  });

  describe('deleting', () => {
    it('soft delete hides a stream; appending re-creates it and numbering continues', async () => {
      const stream = uniqueName('soft');
      await appendMany(store, stream, 3);
      await store.deleteStream(stream, { expectedRevision: 2 });
      assert.deepEqual(await store.readStream(stream), []);
      const result = await store.append(stream, [newEvent('Again')], {
        expectedRevision: 'no_stream',
      });
      assert.equal(result.nextExpectedRevision, 3);
      const events = await store.readStream(stream);
      assert.deepEqual(
        events.map((e) => [e.revision, e.type]),
        [[3, 'Again']],
      );
      const inLog = (await store.readAll({ filter: { streamPrefixes: [stream] } })).length;
      assert.equal(inLog, 4, 'deleted events stay in the global log');
    });

    it('tombstone rejects appends, reads and deletes forever', async () => {
      const stream = uniqueName('tomb');
      await appendMany(store, stream, 2);
      await store.tombstoneStream(stream);
      await rejectsWith(store.append(stream, [newEvent('Late')]), StreamDeleted);
      await rejectsWith(
        store.append(stream, [newEvent('Late')], { expectedRevision: 'no_stream' }),
        StreamDeleted,
      );
      await rejectsWith(store.readStream(stream), StreamDeleted);
      await rejectsWith(store.tombstoneStream(stream), StreamDeleted);
    });

    it('checks the expected revision of a delete', async () => {
      const stream = uniqueName('del');
      await appendMany(store, stream, 2);
      await rejectsWith(store.deleteStream(stream, { expectedRevision: 0 }), WrongExpectedVersion);
      assert.equal((await store.readStream(stream)).length, 2);
    });
  });

  describe('hash chain', () => {
    it('chains every event of a stream, across batches and a soft delete', async () => {
      const stream = uniqueName('chain');
      await store.append(stream, [newEvent('A', { n: 1 }), newEvent('B', { n: 2.5, s: 'é' })]);
      await store.append(stream, [newEvent('C', { nested: { z: [1, null, true], a: 'x' } })]);
      const events = await store.readStream(stream);
      assert.deepEqual(verifyChain(events), { ok: true, verified: 3, head: events[2]?.hash });
      assert.equal(events[0]?.prevHash, null);
      await store.deleteStream(stream);
      await store.append(stream, [newEvent('D')]);
      const [reborn] = await store.readStream(stream);
      assert.equal(reborn?.prevHash, events[2]?.hash);
    });

    it('detects an event altered after it was written', async function () {
      if (!subject.tamper) return this.skip(); // the store offers no way to alter a stored event
      const stream = uniqueName('tamper');
      await appendMany(store, stream, 5);
      await subject.tamper(store, stream, 2);
      const verdict = verifyChain(await store.readStream(stream));
      assert.equal(verdict.ok, false);
      assert.equal(verdict.ok === false && verdict.revision, 2);
    });
  });

  describe('subscriptions', () => {
    it('delivers history, then reports caught up, then delivers live events', async () => {
      const stream = uniqueName('sub');
      await appendMany(store, stream, 5);
      const filter = { streamPrefixes: [stream] };
      let atHead!: () => void;
      const reachedHead = new Promise<void>((resolve) => (atHead = resolve));
      const live = (async () => {
        const seen: RecordedEvent[] = [];
        let caughtUpAt = -1;
        for await (const batch of store.subscribe({ filter })) {
          seen.push(...batch.events);
          if (batch.caughtUp && caughtUpAt < 0) {
            caughtUpAt = seen.length;
            atHead();
          }
          if (seen.length === 8) break;
        }
        return { seen, caughtUpAt };
      })();
      // Appends once the subscription has caught up, however long it took to start.
      await reachedHead;
      await appendMany(store, stream, 3, 'Live');
      const { seen, caughtUpAt } = await live;
      assert.equal(caughtUpAt, 5);
      assert.deepEqual(
        seen.map((e) => e.revision),
        [0, 1, 2, 3, 4, 5, 6, 7],
      );
      assert.deepEqual(
        seen.slice(5).map((e) => e.type),
        ['Live', 'Live', 'Live'],
      );
    });

    it('reports caught up again after a full batch brings it back to the head', async () => {
      const stream = uniqueName('full');
      const flags: Array<[number, boolean]> = [];
      let atHead!: () => void;
      const reachedHead = new Promise<void>((resolve) => (atHead = resolve));
      const live = (async () => {
        let seen = 0;
        for await (const batch of store.subscribe({
          filter: { streamPrefixes: [stream] },
          batchSize: 2,
        })) {
          seen += batch.events.length;
          flags.push([batch.events.length, batch.caughtUp]);
          if (batch.caughtUp) atHead();
          if (seen === 2 && batch.caughtUp) return;
        }
      })();
      // The full batch comes after the subscription first reached the head, not instead of it.
      await reachedHead;
      await store.append(stream, [newEvent('A'), newEvent('B')]);
      await live;
      assert.equal(flags.at(-1)?.[1], true, `batches: ${JSON.stringify(flags)}`);
    });

    it('ends its subscriptions when the store closes', async () => {
      const subscriber = await subject.open();
      const delivered: string[] = [];
      const run = (async () => {
        for await (const batch of subscriber.subscribe({
          filter: { streamPrefixes: ['never-written-'] },
        })) {
          delivered.push(...batch.events.map((e) => e.id));
        }
        return 'ended';
      })();
      await sleep(50);
      await subscriber.close();
      assert.equal(await run, 'ended');
      assert.deepEqual(delivered, []);
    });

    it('starts after a given position, and at the end', async () => {
      const stream = uniqueName('from');
      await appendMany(store, stream, 4);
      const events = await store.readStream(stream);
      const filter = { streamPrefixes: [stream] };
      const afterSecond = await collect(
        store.subscribe({ from: events[1]!.position, filter }),
        (e) => e.length === 2,
      );
      assert.deepEqual(ids(afterSecond.events), ids(events.slice(2)));

      // 'end' is the head when the subscription starts: append only once it has.
      let atHead!: () => void;
      const reachedHead = new Promise<void>((resolve) => (atHead = resolve));
      const fromEnd = collect(store.subscribe({ from: 'end', filter }), (e, batch) => {
        if (batch.caughtUp) atHead();
        return e.length === 1;
      });
      await reachedHead;
      await store.append(stream, [newEvent('AfterEnd')]);
      assert.deepEqual(
        (await fromEnd).events.map((e) => e.type),
        ['AfterEnd'],
      );
    });

    it('filters by event type and advances its position past events that do not match', async () => {
      const stream = uniqueName('typed');
      const type = uniqueName('Wanted');
      await store.append(stream, [
        newEvent(type),
        newEvent('Other'),
        newEvent(type),
        newEvent('Other'),
      ]);
      const { events, last } = await collect(
        store.subscribe({ filter: { eventTypes: [type] } }),
        (_e, batch) => batch.caughtUp,
      );
      assert.deepEqual(
        events.map((e) => e.revision),
        [0, 2],
      );
      const [lastInStream] = await store.readStream(stream, { direction: 'backwards', limit: 1 });
      assert.ok(last && last.position !== 'start' && last.position >= lastInStream!.position);
    });

    it('resumes after a restart from its stored position with no gap and no duplicate', async () => {
      const stream = uniqueName('resume');
      await appendMany(store, stream, 30);
      const filter = { streamPrefixes: [stream] };
      let checkpoint: Awaited<ReturnType<EventStore['headPosition']>> = 'start';
      const firstRun: RecordedEvent[] = [];
      for await (const batch of store.subscribe({ filter, batchSize: 7 })) {
        firstRun.push(...batch.events);
        checkpoint = batch.position;
        if (firstRun.length >= 14) break;
      }
      await appendMany(store, stream, 10);
      await store.close();
      store = await subject.open();
      const secondRun = await collect(
        store.subscribe({ from: checkpoint, filter }),
        (e) => e.length >= 26,
      );
      const all = [...firstRun, ...secondRun.events];
      assert.deepEqual(
        all.map((e) => e.revision),
        Array.from({ length: 40 }, (_, i) => i),
      );
    });
  });

  describe('concurrency', () => {
    it('16 writers with random commit delays: 3 subscribers each get all 2,400 events once, in stream order', async () => {
      const run = uniqueName('conc');
      const writers = 16;
      const perWriter = 150;
      const total = writers * perWriter;
      const streams = 8;
      const delays = subject.commitHooks
        ? {
            // Half the transactions take their transaction id before appending, which is what
            // lets a later commit carry an older id.
            afterBegin: async (tx: SqlQueryable) => {
              if (Math.random() < 0.5) await tx.query('SELECT pg_current_xact_id()');
            },
            beforeCommit: () => sleep(Math.random() * 4),
          }
        : undefined;
      const writerStore = await subject.open(delays);
      const subscribers = [1, 2, 3].map(() =>
        collect(
          store.subscribe({ filter: { streamPrefixes: [run] }, batchSize: 100 }),
          (e) => e.length >= total,
          120_000,
        ),
      );
      const appended = new Set<string>();
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let i = 0; i < perWriter; i++) {
            const event: NewEvent = newEvent('Tick', { w, i });
            await writerStore.append(`${run}-${(w + i) % streams}`, [event]);
            appended.add(event.id);
          }
        }),
      );
      await writerStore.close();
      for (const { events } of await Promise.all(subscribers)) {
        assert.equal(events.length, total);
        assert.equal(new Set(ids(events)).size, total, 'no event delivered twice');
        assert.ok(ids(events).every((id) => appended.has(id)));
        const nextRevision = new Map<string, number>();
        for (const event of events) {
          assert.equal(
            event.revision,
            nextRevision.get(event.stream) ?? 0,
            `order of ${event.stream}`,
          );
          nextRevision.set(event.stream, event.revision + 1);
        }
      }
    });
  });

  describe('bad input', () => {
    const assertNothingWritten = async (before: string) =>
      assert.equal(await store.headPosition(), before);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const badData: Array<[string, unknown]> = [
      ['a function', { f: () => 1 }],
      ['NaN', { n: Number.NaN }],
      ['undefined', { u: undefined }],
      ['a circular reference', cyclic],
      ['a Date object', { d: new Date() }],
      ['an array instead of an object', [1, 2]],
      ['a string instead of an object', 'text'],
    ];

    it('rejects an empty or reserved stream name', async () => {
      const before = await store.headPosition();
      for (const name of ['', '$all', 'bad\u0001name']) {
        await rejectsWith(store.append(name, [newEvent('A')]), InvalidStreamName);
      }
      await assertNothingWritten(before);
    });

    for (const [what, data] of badData) {
      it(`rejects event data that is ${what}`, async () => {
        const before = await store.headPosition();
        const event = { ...newEvent('A'), data } as unknown as NewEvent;
        await rejectsWith(store.append(uniqueName('bad'), [event]), InvalidEvent);
        await assertNothingWritten(before);
      });
    }

    it('rejects missing metadata, a bad id and an empty batch', async () => {
      const before = await store.headPosition();
      const stream = uniqueName('bad');
      const noActor = { ...newEvent('A'), metadata: { correlationId: 'c' } } as unknown as NewEvent;
      await rejectsWith(store.append(stream, [noActor]), InvalidEvent, (e) =>
        assert.match(e.message, /actor/),
      );
      await rejectsWith(
        store.append(stream, [{ ...newEvent('A'), id: 'not-a-uuid' }]),
        InvalidEvent,
      );
      await rejectsWith(store.append(stream, []), InvalidEvent);
      const twice = newEvent('A');
      await rejectsWith(store.append(stream, [twice, twice]), InvalidEvent);
      await assertNothingWritten(before);
    });

    it('rejects an event over 1 MiB', async () => {
      const before = await store.headPosition();
      const big = newEvent('Big', { blob: 'x'.repeat(1024 * 1024) });
      await rejectsWith(store.append(uniqueName('big'), [big]), EventTooLarge, (error) => {
        assert.equal(error.code, 'event_too_large');
        assert.ok(error.bytes > error.limit);
      });
      await assertNothingWritten(before);
    });

    it('rejects a revision to read from that is not a whole number >= 0', async () => {
      for (const fromRevision of [-1, 1.5, Number.NaN]) {
        await rejectsWith(store.readStream('any-stream', { fromRevision }), InvalidRevision);
      }
    });

    it('rejects a limit that is not a whole number >= 1', async () => {
      for (const limit of [0, -5, 2.5]) {
        await rejectsWith(store.readAll({ limit }), InvalidLimit);
        await rejectsWith(store.readStream('any-stream', { limit }), InvalidLimit);
      }
    });

    for (const value of ['latest', -1, 1.5, '3', null]) {
      it(`rejects the expected revision ${JSON.stringify(value)}`, async () => {
        const before = await store.headPosition();
        const attempt = store.append(uniqueName('bad'), [newEvent('A')], {
          expectedRevision: value as ExpectedRevision,
        });
        await rejectsWith(attempt, InvalidExpectedRevision);
        await assertNothingWritten(before);
      });
    }
  });
};
