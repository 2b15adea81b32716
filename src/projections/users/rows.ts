import type { ActiveUser, Network } from '../../domain/user/user.js';

/**
 * The rows of the users read model. `Time` is how a timestamp travels: ISO text when the
 * projection writes it, a Date when a query reads it back.
 */

/** A row of `rm_users`. */
export interface UserRow<Time = Date> {
  user_id: string;
  kind: ActiveUser['kind'];
  name: string;
  bio: string;
  avatar_hash: string | null;
  links: string[];
  present_in: string | null;
  created_at: Time;
  updated_at: Time;
}

/** A wallet of a user, from `rm_user_wallets`. */
export interface UserWalletRow {
  network: Network;
  address: string;
}
