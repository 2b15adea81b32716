import { id as keccakId } from 'ethers';
import type { Logger } from '../../shared/log.js';
import type { BlockHeader, ChainAdapter, ChainTransfer } from '../adapter.js';
import type { ChainConfig } from '../chain-config.js';
import type { ContractKind } from '../../domain/chain/events.js';
import { openRpcPool } from './rpc-pool.js';

/** ERC20 and ERC721 share this signature; ERC721 indexes the token id as a fourth topic. */
export const TRANSFER_TOPIC = keccakId('Transfer(address,address,uint256)');

interface RpcLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  blockHash: string;
  transactionHash: string;
  logIndex: string;
  removed?: boolean;
}

interface RpcBlock {
  number: string;
  hash: string;
  parentHash: string;
}

const topicAddress = (topic: string) => `0x${topic.slice(26)}`.toLowerCase();

/** A Transfer log of a followed contract, or undefined when it is not one we can read. */
export const decodeTransfer = (
  log: RpcLog,
  kinds: ReadonlyMap<string, ContractKind>,
): ChainTransfer | undefined => {
  const contract = log.address.toLowerCase();
  const contractKind = kinds.get(contract);
  if (!contractKind || log.topics[0] !== TRANSFER_TOPIC) return undefined;
  const fungible = log.topics.length === 3;
  if (!fungible && log.topics.length !== 4) return undefined;
  // A contract configured as one standard that emits the other shape is misconfigured: skip.
  if (fungible !== (contractKind === 'erc20')) return undefined;
  return {
    contract,
    contractKind,
    from: topicAddress(log.topics[1]!),
    to: topicAddress(log.topics[2]!),
    amount: fungible ? BigInt(log.data === '0x' ? 0 : log.data).toString() : '1',
    tokenId: fungible ? null : BigInt(log.topics[3]!).toString(),
    blockNumber: Number(log.blockNumber),
    blockHash: log.blockHash,
    txHash: log.transactionHash,
    logIndex: Number(log.logIndex),
  };
};

type RpcCall = readonly [string, unknown[]];

const hex = (n: number) => `0x${n.toString(16)}`;

export const createEvmAdapter = (chain: ChainConfig, log: Logger): ChainAdapter => {
  const rpc = openRpcPool({
    chain: chain.id,
    chainId: chain.chainId,
    urls: chain.rpc,
    timeoutMs: chain.requestTimeoutMs,
    log,
  });
  const kinds = new Map(chain.contracts.map((c) => [c.address, c.kind]));
  const addresses = chain.contracts.map((c) => c.address);

  const block = (tag: string) => rpc.send<RpcBlock | null>('eth_getBlockByNumber', [tag, false]);

  return {
    connect: async () => {
      await rpc.checkEndpoints();
      // A mistyped address, or one on another network, has no code: its transfers would be
      // silently empty forever. Said once, at start, naming the contract.
      const codes = await Promise.all(
        chain.contracts.map((c) =>
          rpc.send<string>('eth_getCode', [c.address, 'latest']).catch(() => undefined),
        ),
      );
      chain.contracts.forEach((contract, i) => {
        if (codes[i] !== '0x') return;
        log.warn(
          { chain: chain.id, contract: contract.address, name: contract.name, kind: contract.kind },
          `chain ${chain.id}: contract ${contract.name} (${contract.address}) has no code at the head: ` +
            'is the address or the chain wrong? Nothing will be read from it until code is there',
        );
      });
    },
    followedHead: async () => {
      if (chain.follow === 'finalized') {
        const finalized = await block('finalized');
        return finalized ? Number(finalized.number) : -1;
      }
      const latest = Number(await rpc.send<string>('eth_blockNumber', []));
      return latest - chain.confirmations;
    },
    headers: (numbers) =>
      Promise.all(
        numbers.map(async (n): Promise<BlockHeader | null> => {
          const b = await block(hex(n));
          return b ? { number: Number(b.number), hash: b.hash, parentHash: b.parentHash } : null;
        }),
      ),
    readRange: async (from, to, withBalances) => {
      // One node answers all, so a replica behind `to` cannot pass off a short list of logs, and
      // the balances are those of the block whose hash the pipeline checks.
      const wallets = withBalances ? chain.nativeBalances.wallets : [];
      // No contracts: an eth_getLogs without addresses would return every token's Transfers.
      const getLogs = addresses.length > 0;
      const answers = await rpc.sendTogether([
        ...(getLogs
          ? [
              [
                'eth_getLogs',
                [
                  {
                    fromBlock: hex(from),
                    toBlock: hex(to),
                    address: addresses,
                    topics: [TRANSFER_TOPIC],
                  },
                ],
              ] as RpcCall,
            ]
          : []),
        ['eth_getBlockByNumber', [hex(to), false]],
        ...wallets.map((wallet) => ['eth_getBalance', [wallet, hex(to)]] as RpcCall),
      ]);
      const logs = (getLogs ? answers.shift() : []) as RpcLog[];
      const last = answers.shift() as RpcBlock | null;
      const balances = answers as string[];
      const transfers: ChainTransfer[] = [];
      for (const entry of logs) {
        if (entry.removed) continue;
        const transfer = decodeTransfer(entry, kinds);
        if (transfer) transfers.push(transfer);
      }
      transfers.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
      return {
        transfers,
        nativeBalances: wallets.map((wallet, i) => ({
          wallet,
          balance: BigInt(balances[i]!).toString(),
        })),
        last: last && { number: Number(last.number), hash: last.hash, parentHash: last.parentHash },
      };
    },
    endpoints: () => rpc.health(),
    close: () => rpc.close(),
  };
};
