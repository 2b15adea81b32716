import type { LeaseStore } from './presence-lease.js';

/**
 * How PosBus gateways serving the same world hear each other. Durable events need no relay:
 * every gateway reads them from the event store. What crosses here is ephemeral: positions
 * (one batched message per gateway per world per tick), who is present on which gateway,
 * object locks and live drags. One gateway alone needs none of it (`singleGateway`); several
 * share a NATS server (`nats-relay.ts`).
 */

/** A change in who is present on one gateway, with that gateway's own session indexes. */
export interface RelayPresence {
  joined: Array<{ index: number; userId: string }>;
  left: number[];
  /** The sender's whole roster for the world: any of its avatars not listed has gone. */
  roster?: boolean;
  /** Sent by a gateway new to the world: the others answer with their rosters. */
  hello?: boolean;
  /** With a roster: the locks its users hold. */
  locks?: Array<{ objectId: string; holder: string }>;
}

/** What a gateway hears about one world from the other gateways. */
export interface RelayListener {
  /** Packed 22-byte transform records (the sender's session indexes), for one tick. */
  transforms(gateway: string, records: Uint8Array): void;
  presence(gateway: string, change: RelayPresence): void;
  /** An encoded server frame (lock, live object transform) for this gateway's clients. */
  signal(gateway: string, frame: Uint8Array): void;
  /** The gateway stopped serving the world. */
  gone(gateway: string): void;
}

/** Who holds an object lock: the user, through one session on one gateway. */
export interface LockHolder {
  userId: string;
  sessionId: string;
}

/** A refused claim names the user holding the lock, when it could be read. */
export type LockClaim = { granted: true } | { granted: false; holder?: string };

export interface GatewayRelay {
  /** Whether other gateways may exist: when false, nothing is published. */
  readonly scaledOut: boolean;
  /** Where the gateways' presence leases live, when the relay keeps them (NATS key-value). */
  readonly leases?: LeaseStore;
  follow(worldId: string, listener: RelayListener): void;
  unfollow(worldId: string): void;
  publishTransforms(worldId: string, records: Uint8Array): void;
  publishPresence(worldId: string, change: RelayPresence): void;
  publishSignal(worldId: string, frame: Uint8Array): void;
  /** Granted when this session now holds the object's lock across all gateways (or did). */
  claimLock(worldId: string, objectId: string, holder: LockHolder): Promise<LockClaim>;
  /** Resolves once the lock is free for others to claim (or was not this session's). */
  releaseLock(worldId: string, objectId: string, holder: LockHolder): Promise<void>;
  /** Called when a lock held here lapsed and another gateway took it. */
  onLockLost(listener: (worldId: string, objectId: string) => void): void;
  /** A user signed in here at `at`: an older connection of theirs on another gateway goes. */
  announceSignIn(userId: string, resumeWorldId: string | undefined, at: number): void;
  /** Called when a user signs in on another gateway. */
  onSignInElsewhere(
    listener: (userId: string, resumeWorldId: string | undefined, at: number) => void,
  ): void;
  close(): Promise<void>;
}

/** One gateway alone: its own lock map is the whole truth, and there is no one to tell. */
export const singleGateway: GatewayRelay = {
  scaledOut: false,
  follow: () => {},
  unfollow: () => {},
  publishTransforms: () => {},
  publishPresence: () => {},
  publishSignal: () => {},
  claimLock: () => Promise.resolve({ granted: true }),
  releaseLock: () => Promise.resolve(),
  onLockLost: () => {},
  announceSignIn: () => {},
  onSignInElsewhere: () => {},
  close: () => Promise.resolve(),
};
