import type { Wallet } from '../../domain/user/user.js';
import { isWorldAdmin } from '../../domain/world/permissions.js';
import { worldStream } from '../../domain/world/world.js';
import { objectStream } from '../../domain/object/object.js';
import { userStream } from '../../domain/user/user.js';
import type { EventStore, Position } from '../../storage/event-store/port.js';
import type { SnapshotStore } from '../../storage/event-store/snapshots.js';
import type { Application } from '../application.js';
import { foldAsOf, type AsOfOptions, type PointInTime, type StateAsOf } from './as-of.js';
import { readHistory, type HistoryOptions, type HistoryQuery } from './history.js';
import { objectViewFold, userViewFold, worldViewFold } from './views.js';

/** Why a history read was refused: a stable code and a sentence. */
export interface Refusal {
  code: 'not_world_owner_or_admin' | 'not_your_history' | 'auditors_only';
  message: string;
}

export interface AuditOptions extends AsOfOptions, HistoryOptions {
  /** Wallet addresses whose users may read every stream's history (AUDITOR_WALLETS). */
  auditorWallets?: readonly string[];
}

/** Ethereum addresses compare without regard to case; others (SS58) exactly. */
const sameAddress = (a: string, b: string) =>
  a.startsWith('0x') && b.startsWith('0x') ? a.toLowerCase() === b.toLowerCase() : a === b;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What a stream's name says it holds: whose history it is. */
export type StreamSubject =
  | { kind: 'world'; worldId: string }
  | { kind: 'object'; objectId: string }
  | { kind: 'user'; userId: string }
  | { kind: 'other' };

export const subjectOf = (stream: string): StreamSubject => {
  const [, prefix, id] = /^(world|object|user)-(.*)$/.exec(stream) ?? [];
  if (!id || !UUID.test(id)) return { kind: 'other' };
  if (prefix === 'world') return { kind: 'world', worldId: id };
  if (prefix === 'object') return { kind: 'object', objectId: id };
  return { kind: 'user', userId: id };
};

/** Streams read for one answer as of a past point, and where each stood. */
export interface StreamPoint {
  stream: string;
  revision: number | null;
  position: Position | 'start';
}

const pointOf = (stream: string, folded: StateAsOf<unknown>): StreamPoint => ({
  stream,
  revision: folded.revision ?? null,
  position: folded.position,
});

/** The latest of the positions: what an answer built from several streams holds for. */
export const latestPosition = (points: readonly StreamPoint[]): Position | 'start' =>
  points.reduce<Position | 'start'>(
    (latest, { position }) =>
      position !== 'start' && (latest === 'start' || position > latest) ? position : latest,
    'start',
  );

/**
 * The read side of the log for auditors and analysts: who may read which stream's history, the
 * history itself, and the state of worlds, objects and users as they were at a past point.
 */
export const createAudit = (
  app: Application,
  store: EventStore,
  snapshots: SnapshotStore,
  options: AuditOptions = {},
) => {
  const auditors = options.auditorWallets ?? [];

  const isAuditor = async (userId: string) => {
    if (auditors.length === 0) return false;
    const user = await app.user.load(userId);
    return (
      user.status === 'active' &&
      user.wallets.some((wallet: Wallet) =>
        auditors.some((address) => sameAddress(address, wallet.address)),
      )
    );
  };

  /** Whether the user owns or administers the world as it is now. */
  const ownsOrAdministers = async (worldId: string, userId: string) => {
    const world = await app.world.load(worldId);
    return world.status === 'active' && isWorldAdmin(world, { kind: 'user', userId });
  };

  /** Undefined when the user may read the stream's history; otherwise why not. */
  const refusalFor = async (userId: string, stream: string): Promise<Refusal | undefined> => {
    if (await isAuditor(userId)) return undefined;
    const subject = subjectOf(stream);
    switch (subject.kind) {
      case 'world':
      case 'object': {
        const worldId =
          subject.kind === 'world'
            ? subject.worldId
            : await app.world.worldOfObject(subject.objectId);
        if (worldId !== undefined && (await ownsOrAdministers(worldId, userId))) return undefined;
        return {
          code: 'not_world_owner_or_admin',
          message: `only the world's owner, its admins and auditors read this history`,
        };
      }
      case 'user':
        return subject.userId === userId
          ? undefined
          : { code: 'not_your_history', message: 'users read their own history only' };
      case 'other':
        return { code: 'auditors_only', message: `only auditors read the history of ${stream}` };
    }
  };

  const fold = {
    world: (worldId: string, at: PointInTime) =>
      foldAsOf(store, snapshots, worldViewFold, worldStream(worldId), at, options),
    object: (objectId: string, at: PointInTime) =>
      foldAsOf(store, snapshots, objectViewFold, objectStream(objectId), at, options),
    user: (userId: string, at: PointInTime) =>
      foldAsOf(store, snapshots, userViewFold, userStream(userId), at, options),
  };

  /** An object as it was: its place and spawn details from its world, its edits from its stream. */
  const objectAsOf = async (objectId: string, at: PointInTime) => {
    const worldId = await app.world.worldOfObject(objectId);
    if (worldId === undefined) return undefined;
    const world = await fold.world(worldId, at);
    const object = await fold.object(objectId, at);
    const streams = [pointOf(worldStream(worldId), world), pointOf(objectStream(objectId), object)];
    const { world: state, objects } = world.state;
    const node = state.status === 'active' ? state.objects.get(objectId) : undefined;
    const spawned = objects.get(objectId);
    return {
      streams,
      object:
        node && spawned && state.status === 'active'
          ? { worldId: state.id, node, spawned, view: object.state }
          : undefined,
    };
  };

  return {
    refusalFor,
    isAuditor,
    history: (stream: string, query: HistoryQuery) => readHistory(store, stream, query, options),
    worldAsOf: async (worldId: string, at: PointInTime) => {
      const folded = await fold.world(worldId, at);
      return { folded, streams: [pointOf(worldStream(worldId), folded)] };
    },
    objectAsOf,
    /** Several objects of one world as of the same point, each from its own stream. */
    objectViewsAsOf: (objectIds: readonly string[], at: PointInTime) =>
      Promise.all(
        objectIds.map(async (id) => {
          const folded = await fold.object(id, at);
          return { id, folded, point: pointOf(objectStream(id), folded) };
        }),
      ),
    userAsOf: async (userId: string, at: PointInTime) => {
      const folded = await fold.user(userId, at);
      return { folded, streams: [pointOf(userStream(userId), folded)] };
    },
  };
};

export type Audit = ReturnType<typeof createAudit>;
