import type { Wallet } from '../../domain/user/user.js';
import {
  walletClaimDecider,
  walletStream,
  type WalletClaim,
  type WalletClaimCommand,
  type WalletClaimEvent,
} from '../../domain/user/wallet-claim.js';
import type { Aggregate, CommandBus } from '../command-bus.js';
import type { CommandEnvelope, Unstamped } from '../envelope.js';

/** Who holds each wallet: one short stream per wallet, so two claims meet at one revision. */
export const walletClaimAggregate: Aggregate<WalletClaim, WalletClaimCommand, WalletClaimEvent> = {
  name: 'wallet-claim',
  initialState: walletClaimDecider.initialState,
  evolve: walletClaimDecider.evolve,
  decider: () => Promise.resolve(walletClaimDecider.decide),
};

export const handleClaim = (
  bus: CommandBus,
  command: Unstamped<WalletClaimCommand>,
  envelope: CommandEnvelope,
) => bus.handle(walletClaimAggregate, walletStream(command.data.wallet), [command], envelope);

export const walletHolder = async (bus: CommandBus, wallet: Wallet) =>
  (await bus.load(walletClaimAggregate, walletStream(wallet))).state.holder;
