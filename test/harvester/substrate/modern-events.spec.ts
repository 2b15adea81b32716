import assert from 'node:assert/strict';
import { Metadata, TypeRegistry } from '@polkadot/types';
import { compactStripLength, compactToU8a, hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { encodeAddress } from '@polkadot/util-crypto';
import assetHubKusama from '@polkadot/types-support/metadata/v15/asset-hub-kusama-hex';
import assetHubPolkadot from '@polkadot/types-support/metadata/v15/asset-hub-polkadot-hex';
import { parseChainRegistry } from '../../../src/harvester/chain-config.js';
import {
  decodeBlockEvents,
  followedOf,
  type EventRecordLike,
} from '../../../src/harvester/substrate/events.js';
import { NATIVE_CONTRACT, ZERO_ADDRESS } from '../../../src/domain/chain/events.js';

/**
 * Current Asset Hubs (Polkadot statemint 2000000, Kusama statemine 1009003) have the `nfts`
 * pallet, which the offline chopsticks chain lacks: their v15 metadata from
 * @polkadot/types-support decodes `system.events` built here as SCALE bytes, as a node serves them.
 */

/** The v15 hex is an Option<Vec<u8>>: 0x01, a compact length, then the metadata. */
const registryOf = (hex: string) => {
  const registry = new TypeRegistry();
  const [, inner] = compactStripLength(hexToU8a(hex).subarray(1));
  registry.setMetadata(new Metadata(registry, inner));
  return registry;
};

const u32 = (n: number) => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
};
const u128 = (n: bigint) => {
  const out = new Uint8Array(16);
  new DataView(out.buffer).setBigUint64(0, n & 0xffffffffffffffffn, true);
  new DataView(out.buffer).setBigUint64(8, n >> 64n, true);
  return out;
};

/** An event record's bytes: phase ApplyExtrinsic(i), pallet and variant index, fields, no topics. */
const record = (
  registry: TypeRegistry,
  extrinsic: number,
  pallet: string,
  event: string,
  fields: Uint8Array[],
) => {
  const metadata = registry.metadata;
  const entry = metadata.pallets.find((p) => p.name.eq(pallet));
  assert.ok(entry, `no pallet ${pallet}`);
  const variants = registry.lookup.getSiType(entry.events.unwrap().type).def.asVariant.variants;
  const variant = variants.find((v) => v.name.eq(event));
  assert.ok(variant, `no event ${pallet}.${event}`);
  return u8aConcat(
    new Uint8Array([0]),
    u32(extrinsic),
    new Uint8Array([entry.index.toNumber(), variant.index.toNumber()]),
    ...fields,
    new Uint8Array([0]),
  );
};

/** `system.events` as stored, decoded with the storage item's own type. */
const systemEvents = (registry: TypeRegistry, records: Uint8Array[]) => {
  const system = registry.metadata.pallets.find((p) => p.name.eq('System'));
  const item = system?.storage.unwrap().items.find((i) => i.name.eq('Events'));
  assert.ok(item);
  const type = registry.createLookupType(item.type.asPlain);
  return registry.createType(
    type,
    u8aConcat(compactToU8a(records.length), ...records),
  ) as unknown as Iterable<EventRecordLike>;
};

const key = (byte: number) => new Uint8Array(32).fill(byte);
const hexKey = (byte: number) => u8aToHex(key(byte));

const chain = parseChainRegistry({
  chains: [
    {
      id: 'polkadot-asset-hub',
      kind: 'substrate',
      network: 'polkadot-asset-hub',
      rpc: ['wss://example.invalid'],
      assets: [{ id: 1984 }],
      nfts: [
        { pallet: 'nfts', collection: 7, kind: 'world-nft' },
        { pallet: 'uniques', collection: 3 },
      ],
    },
  ],
})[0]!;

const block = { number: 100, hash: `0x${'ab'.repeat(32)}` };

for (const [name, hex] of [
  ['Polkadot Asset Hub (statemint 2000000)', assetHubPolkadot],
  ['Kusama Asset Hub (statemine 1009003)', assetHubKusama],
] as const) {
  describe(`harvester substrate: ${name} events from v15 metadata`, function () {
    this.timeout(60_000);
    const registry = registryOf(hex);
    const followed = followedOf(chain.substrate!);

    it('given nfts and uniques transfers, mint and burn, reads them as moves of one NFT model', () => {
      const events = systemEvents(registry, [
        record(registry, 1, 'Nfts', 'Issued', [u32(7), u32(42), key(1)]),
        record(registry, 2, 'Nfts', 'Transferred', [u32(7), u32(42), key(1), key(2)]),
        // Another collection: not followed.
        record(registry, 2, 'Nfts', 'Transferred', [u32(8), u32(42), key(1), key(2)]),
        record(registry, 3, 'Uniques', 'Transferred', [u32(3), u32(5), key(2), key(3)]),
        record(registry, 4, 'Nfts', 'Burned', [u32(7), u32(42), key(2)]),
      ]);
      const found = decodeBlockEvents(events, block, followed);
      assert.deepEqual(
        found.map((t) => [
          t.contract,
          t.contractKind,
          t.tokenId,
          t.from,
          t.to,
          t.amount,
          t.logIndex,
          t.extrinsic,
        ]),
        [
          ['nfts:7', 'world-nft', '42', ZERO_ADDRESS, hexKey(1), '1', 0, 1],
          ['nfts:7', 'world-nft', '42', hexKey(1), hexKey(2), '1', 1, 2],
          ['uniques:3', 'erc721', '5', hexKey(2), hexKey(3), '1', 3, 3],
          ['nfts:7', 'world-nft', '42', hexKey(2), ZERO_ADDRESS, '1', 4, 4],
        ],
      );
    });

    it("given balances transfers, keeps those of followed wallets as the native coin's history", () => {
      const events = systemEvents(registry, [
        record(registry, 1, 'Balances', 'Transfer', [key(1), key(2), u128(5n)]),
        // Neither side followed: not kept.
        record(registry, 1, 'Balances', 'Transfer', [key(3), key(4), u128(6n)]),
        record(registry, 2, 'Balances', 'Transfer', [key(4), key(1), u128(7n)]),
      ]);
      const found = decodeBlockEvents(events, block, followedOf(chain.substrate!, [hexKey(1)]));
      assert.deepEqual(
        found.map((t) => [t.contract, t.contractKind, t.from, t.to, t.amount, t.tokenId]),
        [
          [NATIVE_CONTRACT, 'native', hexKey(1), hexKey(2), '5', null],
          [NATIVE_CONTRACT, 'native', hexKey(4), hexKey(1), '7', null],
        ],
      );
      // Without followed wallets, none.
      assert.deepEqual(decodeBlockEvents(events, block, followed), []);
    });

    it('given assets transferred, issued and burned, reads the followed asset id only', () => {
      const amount = 123_456_789_012_345_678_901n;
      const events = systemEvents(registry, [
        record(registry, 1, 'Assets', 'Issued', [u32(1984), key(1), u128(amount)]),
        record(registry, 1, 'Assets', 'Transferred', [u32(1984), key(1), key(2), u128(5n)]),
        record(registry, 1, 'Assets', 'Transferred', [u32(1337), key(1), key(2), u128(5n)]),
        record(registry, 1, 'Assets', 'Burned', [u32(1984), key(2), u128(2n)]),
      ]);
      const found = decodeBlockEvents(events, block, followed);
      assert.deepEqual(
        found.map((t) => [t.contract, t.from, t.to, t.amount, t.tokenId]),
        [
          ['assets:1984', ZERO_ADDRESS, hexKey(1), amount.toString(), null],
          ['assets:1984', hexKey(1), hexKey(2), '5', null],
          ['assets:1984', hexKey(2), ZERO_ADDRESS, '2', null],
        ],
      );
    });
  });
}

describe('harvester substrate: registry entries', () => {
  it('records a wallet under any SS58 prefix as its public key', () => {
    const parse = (address: string) =>
      parseChainRegistry({
        chains: [
          {
            id: 'ah',
            kind: 'substrate',
            network: 'kusama-asset-hub',
            rpc: ['wss://example.invalid'],
            nativeBalances: { wallets: [address] },
          },
        ],
      })[0]!.nativeBalances.wallets;
    const wallet = key(9);
    for (const prefix of [0, 2, 42])
      assert.deepEqual(parse(encodeAddress(wallet, prefix)), [hexKey(9)]);
  });

  it('refuses native balances on a relay chain, naming the Asset Hub', () => {
    assert.throws(
      () =>
        parseChainRegistry({
          chains: [
            {
              id: 'dot',
              kind: 'substrate',
              network: 'polkadot',
              rpc: ['wss://example.invalid'],
              nativeBalances: { wallets: [encodeAddress(key(1), 0)] },
            },
          ],
        }),
      /chain dot: nativeBalances polkadot balances live on polkadot-asset-hub/,
    );
  });
});
