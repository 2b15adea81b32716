import type { TokenService } from '../../auth/tokens.js';
import type { PosBusContext } from '../context.js';
import type { SignedIn } from '../session.js';
import type { WorldRooms } from '../world-rooms.js';

/** What a message handler may use: the instance's parts, its rooms and who is signed in. */
export interface HandlerContext extends PosBusContext {
  rooms: WorldRooms;
  tokens: TokenService;
  /** The signed-in session of each user on this gateway (one per user). */
  byUser: Map<string, SignedIn>;
}

/**
 * One client message of a signed-in session: it validates its own body (a MalformedFrame
 * counts towards the invalid-frame limit), then acts.
 */
export type Handler = (
  ctx: HandlerContext,
  session: SignedIn,
  frame: Uint8Array,
) => Promise<void> | void;
