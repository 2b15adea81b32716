import type { Logger } from '../../shared/log.js';
import type { PosBusCommands } from './commands.js';
import type { Counters } from './metrics.js';
import type { PosBusOptions } from './options.js';
import type { Outbox } from './outbox.js';
import type { GatewayRelay } from './relay.js';

/** What the parts of one PosBus instance share; made once by `startPosBus`. */
export interface PosBusContext {
  options: PosBusOptions;
  relay: GatewayRelay;
  outbox: Outbox;
  counters: Counters;
  commands: PosBusCommands;
  log: Logger;
  /** A new index for an avatar, unique on this gateway, as transform records name it. */
  nextIndex(): number;
  /** Someone entered or left a world here (the presence lease lists them soon). */
  presenceChanged(): void;
}
