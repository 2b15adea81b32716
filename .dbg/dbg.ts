import { startChopsticks, tx } from '../test/harvester/substrate/chopsticks-chain.js';
import { parseChainRegistry } from '../src/harvester/chain-config.js';
import { createSubstrateAdapter } from '../src/harvester/substrate/substrate-adapter.js';
import { createLogger } from '../src/shared/log.js';

const chain = await startChopsticks();
if (typeof chain === 'string') throw new Error(chain);
try {
  const { api, alice } = chain;
  console.log('head', await chain.head());
  await chain.fund([alice.address], 10n ** 18n);
  await chain.send(alice, tx(api, 'utility', 'batchAll')([
    tx(api, 'assets', 'create')(7, alice.address, 1),
    tx(api, 'assets', 'mint')(7, alice.address, 1_000_000),
  ]));
  console.log('head after', await chain.newBlocks());
  const config = parseChainRegistry({ chains: [{ id: 'x', kind: 'substrate', genesisHash: chain.genesisHash, rpc: [chain.url], follow: 'latest', assets: [{ id: 7 }], nativeBalances: { wallets: [alice.address] } }] })[0]!;
  const adapter = createSubstrateAdapter(config, createLogger('debug'));
  await adapter.connect();
  console.log('identity', await adapter.identity());
  const head = await adapter.followedHead();
  console.log('head', head, await adapter.headers([0, head]));
  const r = await adapter.readRange(0, head, { contracts: config.contracts.map((c) => c.address), wallets: config.nativeBalances.wallets });
  console.log(JSON.stringify(r, null, 1));
  console.log(await adapter.tokenMetadata(config.contracts[1]!), await adapter.tokenMetadata(config.contracts[0]!));
  await adapter.close();
} finally {
  await chain.stop();
}
