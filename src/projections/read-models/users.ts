import type { UserEvent } from '../../domain/user/user.js';
import { pipeline, type Projection } from '../projection.js';

/** Users with their profiles, wallets and the world each is in. */
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
  ],
  apply: async (tx, events, t) => {
    const sql = pipeline(tx);
    for (const recorded of events) {
      const event = { type: recorded.type, data: recorded.data } as unknown as UserEvent;
      const at = recorded.metadata.occurredAt;
      switch (event.type) {
        case 'UserRegistered': {
          const { userId, kind, name, wallet } = event.data;
          sql.query(
            `INSERT INTO ${t('rm_users')} (user_id, kind, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (user_id) DO NOTHING`,
            [userId, kind, name, at],
          );
          if (wallet) {
            sql.query(
              `INSERT INTO ${t('rm_user_wallets')} (network, address, user_id) VALUES ($1, $2, $3)
               ON CONFLICT (network, address) DO UPDATE SET user_id = excluded.user_id`,
              [wallet.network, wallet.address, userId],
            );
          }
          break;
        }
        case 'ProfileUpdated': {
          const { name, bio, avatarHash, links } = event.data.profile;
          sql.query(
            `UPDATE ${t('rm_users')}
                SET name = coalesce($2, name), bio = coalesce($3, bio),
                    avatar_hash = CASE WHEN $4::boolean THEN $5 ELSE avatar_hash END,
                    links = coalesce($6::text::jsonb, links), updated_at = $7
              WHERE user_id = $1`,
            [
              event.data.userId,
              name ?? null,
              bio ?? null,
              avatarHash !== undefined,
              avatarHash ?? null,
              links ? JSON.stringify(links) : null,
              at,
            ],
          );
          break;
        }
        case 'WalletAttached':
          sql.query(
            `INSERT INTO ${t('rm_user_wallets')} (network, address, user_id) VALUES ($1, $2, $3)
             ON CONFLICT (network, address) DO UPDATE SET user_id = excluded.user_id`,
            [event.data.wallet.network, event.data.wallet.address, event.data.userId],
          );
          break;
        case 'WalletDetached':
          sql.query(
            `DELETE FROM ${t('rm_user_wallets')} WHERE network = $1 AND address = $2 AND user_id = $3`,
            [event.data.wallet.network, event.data.wallet.address, event.data.userId],
          );
          break;
        case 'UserEnteredWorld':
          sql.query(
            `UPDATE ${t('rm_users')} SET present_in = $2, updated_at = $3 WHERE user_id = $1`,
            [event.data.userId, event.data.worldId, at],
          );
          break;
        case 'UserLeftWorld':
          sql.query(
            `UPDATE ${t('rm_users')} SET present_in = NULL, updated_at = $3 WHERE user_id = $1 AND present_in = $2`,
            [event.data.userId, event.data.worldId, at],
          );
          break;
      }
    }
    await sql.done();
  },
};
