import type { Profile, UserEvent } from '../../domain/user/user.js';
import { toDomainEvent } from '../../storage/event-store/to-domain-event.js';
import type { RecordedEvent } from '../../storage/event-store/port.js';
import { pipeline, type Projection } from '../projection.js';
import type { UserRow } from './rows.js';

/**
 * Users with their profiles, wallets and the world each is in. Each batch is folded in memory
 * and written set-based; what a batch cannot know (where a user was before it) is kept as a
 * condition for the database to resolve.
 */

/** Where the user is after the batch: known, or cleared only if they were in one of these worlds. */
type Presence = { set: string | null } | { clearIf: string[] };

interface UserPatch {
  user_id: string;
  profile: Partial<Profile>;
  presence?: Presence;
  updated_at: string;
}

/** A wallet's fate: owned by a user, gone, or gone only if one of these users owned it. */
type WalletChange = { network: string; address: string } & (
  { attachTo: string } | { remove: true } | { removeIfOwnedBy: string[] }
);

const leave = (presence: Presence | undefined, worldId: string): Presence => {
  if (!presence) return { clearIf: [worldId] };
  if ('set' in presence) return presence.set === worldId ? { set: null } : presence;
  return { clearIf: [...presence.clearIf, worldId] };
};

const detach = (
  change: WalletChange | undefined,
  userId: string,
  key: Pick<WalletChange, 'network' | 'address'>,
) => {
  if (!change) return { ...key, removeIfOwnedBy: [userId] };
  if ('attachTo' in change)
    return change.attachTo === userId ? { ...key, remove: true as const } : change;
  if ('remove' in change) return change;
  return { ...key, removeIfOwnedBy: [...change.removeIfOwnedBy, userId] };
};

const foldUsers = (events: readonly RecordedEvent[]) => {
  const registered = new Map<string, UserRow<string>>();
  const patched = new Map<string, UserPatch>();
  const wallets = new Map<string, WalletChange>();
  const deleted = new Set<string>();
  const walletKey = (w: { network: string; address: string }) => `${w.network}\u0000${w.address}`;
  const attach = (userId: string, wallet: { network: string; address: string }) =>
    wallets.set(walletKey(wallet), {
      network: wallet.network,
      address: wallet.address,
      attachTo: userId,
    });

  const change = (
    userId: string,
    at: string,
    update: (row: UserRow<string> | undefined, patch: UserPatch) => void,
  ) => {
    const row = registered.get(userId);
    if (row) {
      const asPatch: UserPatch = {
        user_id: userId,
        profile: {},
        presence: { set: row.present_in },
        updated_at: at,
      };
      update(row, asPatch);
      registered.set(userId, {
        ...row,
        ...(asPatch.profile.name !== undefined ? { name: asPatch.profile.name } : {}),
        ...(asPatch.profile.bio !== undefined ? { bio: asPatch.profile.bio } : {}),
        ...(asPatch.profile.avatarHash !== undefined
          ? { avatar_hash: asPatch.profile.avatarHash }
          : {}),
        ...(asPatch.profile.links !== undefined ? { links: asPatch.profile.links } : {}),
        present_in:
          asPatch.presence && 'set' in asPatch.presence ? asPatch.presence.set : row.present_in,
        updated_at: at,
      });
      return;
    }
    const patch = patched.get(userId) ?? { user_id: userId, profile: {}, updated_at: at };
    update(undefined, patch);
    patched.set(userId, { ...patch, updated_at: at });
  };

  for (const recorded of events) {
    const event = toDomainEvent<UserEvent>(recorded);
    const at = recorded.metadata.occurredAt;
    switch (event.type) {
      case 'UserRegistered': {
        const { userId, kind, name, wallet } = event.data;
        if (registered.has(userId) || patched.has(userId)) break;
        registered.set(userId, {
          user_id: userId,
          kind,
          name,
          bio: '',
          avatar_hash: null,
          links: [],
          present_in: null,
          created_at: at,
          updated_at: at,
        });
        if (wallet) attach(userId, wallet);
        break;
      }
      case 'ProfileUpdated':
        change(event.data.userId, at, (_row, patch) =>
          Object.assign(patch.profile, event.data.profile),
        );
        break;
      case 'UserEnteredWorld':
        change(
          event.data.userId,
          at,
          (_row, patch) => (patch.presence = { set: event.data.worldId }),
        );
        break;
      case 'UserLeftWorld':
        change(
          event.data.userId,
          at,
          (_row, patch) => (patch.presence = leave(patch.presence, event.data.worldId)),
        );
        break;
      case 'WalletAttached':
        attach(event.data.userId, event.data.wallet);
        break;
      case 'WalletDetached': {
        const { wallet, userId } = event.data;
        wallets.set(walletKey(wallet), detach(wallets.get(walletKey(wallet)), userId, wallet));
        break;
      }
      case 'UserDeleted': {
        const { userId } = event.data;
        registered.delete(userId);
        patched.delete(userId);
        deleted.add(userId);
        for (const wallet of event.data.wallets)
          wallets.set(walletKey(wallet), detach(wallets.get(walletKey(wallet)), userId, wallet));
        break;
      }
    }
  }
  return { registered, patched, wallets, deleted };
};

export const usersProjection: Projection = {
  name: 'users',
  version: 1,
  tables: ['rm_users', 'rm_user_wallets'],
  createTables: (t) => `
    CREATE TABLE ${t('rm_users')} (
      user_id text PRIMARY KEY,
      kind text NOT NULL,
      name text NOT NULL,
      bio text NOT NULL DEFAULT '',
      avatar_hash text,
      links jsonb NOT NULL DEFAULT '[]',
      present_in text,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    );
    CREATE INDEX ON ${t('rm_users')} (present_in);
    CREATE TABLE ${t('rm_user_wallets')} (
      network text NOT NULL,
      address text NOT NULL,
      user_id text NOT NULL,
      PRIMARY KEY (network, address)
    );
    CREATE INDEX ON ${t('rm_user_wallets')} (user_id);`,
  eventTypes: [
    'UserRegistered',
    'ProfileUpdated',
    'WalletAttached',
    'WalletDetached',
    'UserEnteredWorld',
    'UserLeftWorld',
    'UserDeleted',
  ],
  apply: async (tx, events, t) => {
    const { registered, patched, wallets, deleted } = foldUsers(events);
    const sql = pipeline(tx);
    const json = (value: unknown) => JSON.stringify(value);
    if (deleted.size > 0) {
      sql.query(
        `DELETE FROM ${t('rm_users')} WHERE user_id IN (SELECT jsonb_array_elements_text($1::text::jsonb))`,
        [json([...deleted])],
      );
    }
    if (registered.size > 0) {
      sql.query(
        `INSERT INTO ${t('rm_users')} (user_id, kind, name, bio, avatar_hash, links, present_in, created_at, updated_at)
         SELECT user_id, kind, name, bio, avatar_hash, links, present_in, created_at, updated_at
           FROM jsonb_to_recordset($1::text::jsonb) AS r(user_id text, kind text, name text, bio text,
                avatar_hash text, links jsonb, present_in text, created_at timestamptz, updated_at timestamptz)
         ON CONFLICT (user_id) DO NOTHING`,
        [json([...registered.values()])],
      );
    }
    if (patched.size > 0) {
      const rows = [...patched.values()].map(({ user_id, profile, presence, updated_at }) => ({
        user_id,
        name: profile.name ?? null,
        bio: profile.bio ?? null,
        has_avatar: profile.avatarHash !== undefined,
        avatar_hash: profile.avatarHash ?? null,
        links: profile.links ?? null,
        presence: presence ? ('set' in presence ? 'set' : 'clear_if') : 'keep',
        present_in: presence && 'set' in presence ? presence.set : null,
        clear_if: presence && 'clearIf' in presence ? presence.clearIf : [],
        updated_at,
      }));
      sql.query(
        `UPDATE ${t('rm_users')} u
            SET name = coalesce(p.name, u.name),
                bio = coalesce(p.bio, u.bio),
                avatar_hash = CASE WHEN p.has_avatar THEN p.avatar_hash ELSE u.avatar_hash END,
                links = coalesce(p.links, u.links),
                present_in = CASE p.presence
                  WHEN 'set' THEN p.present_in
                  WHEN 'clear_if' THEN CASE WHEN p.clear_if ? u.present_in THEN NULL ELSE u.present_in END
                  ELSE u.present_in END,
                updated_at = p.updated_at
           FROM jsonb_to_recordset($1::text::jsonb) AS p(user_id text, name text, bio text, has_avatar boolean,
                avatar_hash text, links jsonb, presence text, present_in text, clear_if jsonb, updated_at timestamptz)
          WHERE u.user_id = p.user_id`,
        [json(rows)],
      );
    }
    const changes = [...wallets.values()];
    const attached = changes.filter((c) => 'attachTo' in c);
    const removed = changes.flatMap((c) =>
      'remove' in c ? [{ network: c.network, address: c.address, owners: null }] : [],
    );
    const removedIf = changes.flatMap((c) =>
      'removeIfOwnedBy' in c
        ? [{ network: c.network, address: c.address, owners: c.removeIfOwnedBy }]
        : [],
    );
    if (removed.length + removedIf.length > 0) {
      sql.query(
        `DELETE FROM ${t('rm_user_wallets')} w
          USING jsonb_to_recordset($1::text::jsonb) AS r(network text, address text, owners jsonb)
          WHERE w.network = r.network AND w.address = r.address AND (r.owners IS NULL OR r.owners ? w.user_id)`,
        [json([...removed, ...removedIf])],
      );
    }
    if (attached.length > 0) {
      sql.query(
        `INSERT INTO ${t('rm_user_wallets')} (network, address, user_id)
         SELECT network, address, "attachTo" FROM jsonb_to_recordset($1::text::jsonb)
             AS r(network text, address text, "attachTo" text)
         ON CONFLICT (network, address) DO UPDATE SET user_id = excluded.user_id`,
        [json(attached)],
      );
    }
    await sql.done();
  },
};
