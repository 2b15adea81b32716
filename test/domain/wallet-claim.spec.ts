import {
  decideWalletClaim,
  evolveWalletClaim,
  type WalletClaimEvent,
} from '../../src/domain/user/wallet-claim.js';
import { fold } from '../../src/domain/decider.js';
import { specification } from '../support/decider-spec.js';
import { asUser, AT } from './fixtures.js';

const claims = specification(decideWalletClaim);
const WALLET = { network: 'ethereum' as const, address: '0xaaaa' };
const claimAfter = (...events: WalletClaimEvent[]) =>
  fold(evolveWalletClaim, { holder: null }, events);
const claimed = (userId: string): WalletClaimEvent => ({
  type: 'WalletClaimed',
  data: { wallet: WALLET, userId },
});
const released = (userId: string): WalletClaimEvent => ({
  type: 'WalletReleased',
  data: { wallet: WALLET, userId },
});
const claim = (userId: string) =>
  ({
    type: 'ClaimWallet',
    data: { wallet: WALLET, userId },
    actor: asUser(userId),
    at: AT,
  }) as const;
const release = (userId: string) =>
  ({
    type: 'ReleaseWallet',
    data: { wallet: WALLET, userId },
    actor: asUser(userId),
    at: AT,
  }) as const;

describe('wallet claim decider', () => {
  it('gives a free wallet to the first user who claims it', () =>
    claims
      .given(claimAfter())
      .when(claim('alice'))
      .then([claimed('alice')]));

  it('refuses a wallet another user holds, until they release it', () => {
    claims
      .given(claimAfter(claimed('alice')))
      .when(claim('bob'))
      .thenRefuses('wallet_in_use', 'conflict');
    claims
      .given(claimAfter(claimed('alice'), released('alice')))
      .when(claim('bob'))
      .then([claimed('bob')]);
  });

  it('changes nothing when the holder claims again or someone else releases', () => {
    claims
      .given(claimAfter(claimed('alice')))
      .when(claim('alice'))
      .then([]);
    claims
      .given(claimAfter(claimed('alice')))
      .when(release('bob'))
      .then([]);
    claims
      .given(claimAfter(claimed('alice')))
      .when(release('alice'))
      .then([released('alice')]);
  });
});
