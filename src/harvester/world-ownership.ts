import type { Logger } from '../shared/log.js';
import { DomainError } from '../domain/errors.js';
import type { WalletClaimEvent } from '../domain/user/wallet-claim.js';
import type { WorldCommand } from '../domain/world/world.js';
import { createApplication } from '../application/application.js';
import type { CommandEnvelope, Unstamped } from '../application/envelope.js';
import type { ReactorFollower } from '../projections/follower.js';
import type { EventStore, RecordedEvent } from '../storage/event-store/port.js';
import { migrate, type Migration } from '../storage/sql/migrate.js';
import { assertSchemaName, quoteIdent, type SqlClient } from '../storage/sql/sql-client.js';
import { ZERO_ADDRESS, type ChainEvent, type TransferData } from '../domain/chain/events.js';
import { worldIdForNft } from '../application/world/world-of-nft.js';
import type { Wallet } from '../domain/user/user.js';
import { accountKey, isAccountKey, signInAddress } from './substrate/accounts.js';

/**
 * The signed-in wallet of an NFT holder: Substrate chains record holders as public keys, which
 * sign-in stores as Polkadot wallets (SS58, generic prefix); EVM chains as Ethereum addresses.
 */
const walletOfHolder = (owner: string): Wallet =>
  isAccountKey(owner)
    ? { network: 'polkadot', address: signInAddress(owner) }
    : { network: 'ethereum', address: owner };

/** How the holders table spells a signed-in wallet. */
const holderOfWallet = (wallet: Wallet) =>
  wallet.network === 'polkadot' ? accountKey(wallet.address) : wallet.address;

/**
 * Worlds follow their Odyssey world NFT. Minting one to a wallet creates the world for the
 * wallet's user, or, while the wallet has no user yet, on that user's first sign-in; a transfer
 * (or the revert of one, after a reorg) hands the world to the new holder's user, and with it
 * who may edit. It remembers which wallet holds each world NFT, and where in the log it stands;
 * the commands it sends are idempotent, so handling an event twice after a crash changes nothing.
 */

const WATCHED = [
  'TokenTransferred',
  'TokenTransferReverted',
  'WalletClaimed',
  'WalletReleased',
] as const satisfies readonly (ChainEvent | WalletClaimEvent)['type'][];

export const WORLD_OWNERSHIP = 'world-ownership';

const migrations: readonly Migration[] = [
  {
    id: 1,
    name: 'world NFT holders',
    sql: (s: string) => `
      CREATE TABLE ${s}.harvester_world_nfts (
        chain text NOT NULL,
        contract text NOT NULL,
        token_id text NOT NULL,
        owner text NOT NULL,
        PRIMARY KEY (chain, contract, token_id)
      );
      CREATE INDEX ON ${s}.harvester_world_nfts (owner);
      CREATE TABLE ${s}.harvester_world_checkpoint (
        name text PRIMARY KEY,
        position text NOT NULL
      );`,
  },
  {
    id: 2,
    name: "world ownership follows from the followers' checkpoints",
    sql: (s: string) => `
      INSERT INTO ${s}.projection_checkpoints (name, version, position)
        SELECT name, 1, position FROM ${s}.harvester_world_checkpoint
      ON CONFLICT (name) DO NOTHING;
      DROP TABLE ${s}.harvester_world_checkpoint;`,
  },
];

interface WorldNft {
  chain: string;
  contract: string;
  token_id: string;
  owner: string;
}

/**
 * A reactor on the follower runtime (src/projections/supervisor.ts): its checkpoint is the
 * `world-ownership` row of `projection_checkpoints`, and its holders table is written before the
 * checkpoint moves; a crash handles the batch again, which changes nothing the second time.
 */
export const worldOwnershipReactor = (
  store: EventStore,
  sql: SqlClient,
  log: Logger,
  schema = 'public',
): ReactorFollower => {
  const s = quoteIdent(assertSchemaName(schema));
  // This reactor's own command side; the harvester process has no other writer of these streams.
  const app = createApplication(store);

  const envelopeFor = (event: RecordedEvent, purpose: string): CommandEnvelope => ({
    commandId: `world-ownership:${event.id}:${purpose}`,
    correlationId: event.metadata.correlationId,
    causationId: event.id,
    actor: { kind: 'service', name: 'harvester' },
    auth: 'service',
    at: event.metadata.occurredAt,
  });
  /** Brings the world of one NFT in line with who holds the NFT now. */
  const settleWorld = async (nft: WorldNft, cause: RecordedEvent) => {
    const worldId = worldIdForNft(nft.chain, nft.contract, nft.token_id);
    const holder =
      nft.owner === ZERO_ADDRESS ? null : await app.user.walletHolder(walletOfHolder(nft.owner));
    const world = await app.world.load(worldId);
    const envelope = envelopeFor(cause, worldId);
    let command: Unstamped<WorldCommand> | undefined;
    if (world.status === 'absent' && holder) {
      command = {
        type: 'CreateWorld',
        data: {
          worldId,
          ownerId: holder,
          name: `World #${nft.token_id}`,
          origin: {
            kind: 'nft',
            chainId: nft.chain,
            contract: nft.contract,
            tokenId: nft.token_id,
          },
        },
      };
    } else if (world.status === 'active' && world.ownerId !== holder) {
      command = { type: 'ChangeWorldOwner', data: { worldId, ownerId: holder } };
    }
    if (!command) return;
    try {
      await app.world.handle(command, envelope);
      log.info(
        { worldId, owner: holder, wallet: nft.owner, command: command.type },
        'world follows its NFT',
      );
    } catch (error) {
      // Someone else (another harvester) settled it first: the next event settles it again.
      if (!(error instanceof DomainError)) throw error;
      log.warn({ worldId, err: error }, 'world ownership not changed');
    }
  };

  const handle = async (event: RecordedEvent) => {
    if (event.type === 'WalletClaimed' || event.type === 'WalletReleased') {
      const { wallet } = event.data as unknown as { wallet: Wallet };
      if (wallet.network !== 'ethereum' && wallet.network !== 'polkadot') return;
      const nfts = await sql.query<WorldNft>(
        `SELECT chain, contract, token_id, owner FROM ${s}.harvester_world_nfts WHERE owner = $1`,
        [holderOfWallet(wallet)],
      );
      for (const nft of nfts) await settleWorld(nft, event);
      return;
    }
    const transfer = event.data as unknown as TransferData;
    if (transfer.contractKind !== 'world-nft' || transfer.tokenId === null) return;
    const nft: WorldNft = {
      chain: transfer.chain,
      contract: transfer.contract,
      token_id: transfer.tokenId,
      owner: event.type === 'TokenTransferred' ? transfer.to : transfer.from,
    };
    await sql.query(
      `INSERT INTO ${s}.harvester_world_nfts (chain, contract, token_id, owner) VALUES ($1, $2, $3, $4)
       ON CONFLICT (chain, contract, token_id) DO UPDATE SET owner = excluded.owner`,
      [nft.chain, nft.contract, nft.token_id, nft.owner],
    );
    await settleWorld(nft, event);
  };

  return {
    kind: 'reactor',
    name: WORLD_OWNERSHIP,
    version: 1,
    eventTypes: WATCHED,
    // The runtime has created projection_checkpoints, which migration 2 moves the checkpoint to.
    prepare: (client) =>
      migrate(client, schema, 'world-ownership', migrations).then(() => undefined),
    react: async (events) => {
      for (const event of events) await handle(event);
    },
  };
};
