import { AbiCoder, Interface, id as keccakId } from 'ethers';
import type { Logger } from '../../shared/log.js';
import type { BlockHeader, ChainAdapter, ChainTransfer, TokenMetadata } from '../adapter.js';
import type { ChainConfig } from '../chain-config.js';
import type { ContractKind } from '../../domain/chain/events.js';
import { openRpcPool } from './rpc-pool.js';

/** ERC20 and ERC721 share this signature; ERC721 indexes the token id as a fourth topic. */
export const TRANSFER_TOPIC = keccakId('Transfer(address,address,uint256)');
/** ERC1155: one token id and amount, or several in one log. */
export const TRANSFER_SINGLE_TOPIC = keccakId(
  'TransferSingle(address,address,address,uint256,uint256)',
);
export const TRANSFER_BATCH_TOPIC = keccakId(
  'TransferBatch(address,address,address,uint256[],uint256[])',
);

/** The optional ERC20 / ERC721 metadata reads; a contract without them answers with an error. */
const metadataAbi = new Interface([
  'function name() view returns (string)',
  'function symbol() view returns (string)',
  'function decimals() view returns (uint8)',
]);
const abi = AbiCoder.defaultAbiCoder();

interface RpcLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  blockHash: string;
  transactionHash: string;
  logIndex: string;
  removed?: boolean;
  /** Some nodes (geth 1.16+, anvil) give the block's time with each log. */
  blockTimestamp?: string;
}

interface RpcBlock {
  number: string;
  hash: string;
  parentHash: string;
  timestamp: string;
}

const headerOf = (b: RpcBlock): BlockHeader => ({
  number: Number(b.number),
  hash: b.hash,
  parentHash: b.parentHash,
  timestamp: Number(b.timestamp),
});

const topicAddress = (topic: string) => `0x${topic.slice(26)}`.toLowerCase();

/** The transfers a log of a followed contract records (none when it is not one we can read). */
export const decodeTransfers = (
  log: RpcLog,
  kinds: ReadonlyMap<string, ContractKind>,
): ChainTransfer[] => {
  const contract = log.address.toLowerCase();
  const contractKind = kinds.get(contract);
  if (!contractKind) return [];
  const where = {
    contract,
    contractKind,
    blockNumber: Number(log.blockNumber),
    blockHash: log.blockHash,
    txHash: log.transactionHash,
    logIndex: Number(log.logIndex),
  };
  const [topic] = log.topics;
  if (contractKind === 'erc1155') {
    if (log.topics.length !== 4) return [];
    const from = topicAddress(log.topics[2]!);
    const to = topicAddress(log.topics[3]!);
    try {
      if (topic === TRANSFER_SINGLE_TOPIC) {
        const [id, value] = abi.decode(['uint256', 'uint256'], log.data) as unknown as [
          bigint,
          bigint,
        ];
        return [
          { ...where, from, to, amount: value.toString(), tokenId: id.toString(), batchIndex: 0 },
        ];
      }
      if (topic === TRANSFER_BATCH_TOPIC) {
        const [ids, values] = abi.decode(['uint256[]', 'uint256[]'], log.data) as unknown as [
          bigint[],
          bigint[],
        ];
        if (ids.length !== values.length) return [];
        return ids.map((id, i) => ({
          ...where,
          from,
          to,
          amount: values[i]!.toString(),
          tokenId: id.toString(),
          batchIndex: i,
        }));
      }
    } catch {
      // Data that does not decode is not a standard ERC1155 log: skipped, as below.
    }
    return [];
  }
  if (topic !== TRANSFER_TOPIC) return [];
  const fungible = log.topics.length === 3;
  if (!fungible && log.topics.length !== 4) return [];
  // A contract configured as one standard that emits the other shape is misconfigured: skip.
  if (fungible !== (contractKind === 'erc20')) return [];
  return [
    {
      ...where,
      from: topicAddress(log.topics[1]!),
      to: topicAddress(log.topics[2]!),
      amount: fungible ? BigInt(log.data === '0x' ? 0 : log.data).toString() : '1',
      tokenId: fungible ? null : BigInt(log.topics[3]!).toString(),
      batchIndex: 0,
    },
  ];
};

type RpcCall = readonly [string, unknown[]];

const hex = (n: number) => `0x${n.toString(16)}`;

/** A string, or a bytes32 some early tokens return instead; null when it is neither. */
const decodeText = (data: string): string | null => {
  try {
    return (metadataAbi.decodeFunctionResult('name', data)[0] as string).slice(0, 200);
  } catch {
    if (!/^0x[0-9a-f]{64}$/i.test(data)) return null;
    const text = Buffer.from(data.slice(2), 'hex').toString('utf8').replace(/\0+$/, '');
    return text.length > 0 && !text.includes('\0') ? text : null;
  }
};

export const createEvmAdapter = (chain: ChainConfig, log: Logger): ChainAdapter => {
  const rpc = openRpcPool({
    chain: chain.id,
    chainId: chain.chainId,
    urls: chain.rpc,
    timeoutMs: chain.requestTimeoutMs,
    log,
  });
  const kinds = new Map<string, ContractKind>();
  for (const c of chain.contracts) if (c.kind !== 'native') kinds.set(c.address, c.kind);
  const topics = [TRANSFER_TOPIC];
  if (chain.contracts.some((c) => c.kind === 'erc1155')) {
    topics.push(TRANSFER_SINGLE_TOPIC, TRANSFER_BATCH_TOPIC);
  }

  const block = (tag: string) => rpc.send<RpcBlock | null>('eth_getBlockByNumber', [tag, false]);

  /** Times of the blocks whose logs did not carry theirs: one batch of header reads. */
  const timesOf = async (numbers: readonly number[]) => {
    const times = new Map<number, number>();
    if (numbers.length === 0) return times;
    const blocks = (await rpc.sendTogether(
      numbers.map((n) => ['eth_getBlockByNumber', [hex(n), false]] as RpcCall),
    )) as Array<RpcBlock | null>;
    for (const b of blocks) if (b) times.set(Number(b.number), Number(b.timestamp));
    return times;
  };

  /** An eth_call that may fail (the contract lacks the function): its result, or null. */
  const call = async (to: string, data: string) => {
    try {
      const result = await rpc.send<string>('eth_call', [{ to, data }, 'latest']);
      return result === '0x' ? null : result;
    } catch {
      return null;
    }
  };

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
    identity: async () => {
      const genesis = await block('0x0');
      if (!genesis) throw new Error(`chain ${chain.id}: the node has no genesis block`);
      return { chainId: String(chain.chainId), genesisHash: genesis.hash };
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
          return b ? headerOf(b) : null;
        }),
      ),
    readRange: async (from, to, wanted) => {
      // One node answers all, so a replica behind `to` cannot pass off a short list of logs, and
      // the balances are those of the block whose hash the pipeline checks.
      const { wallets, contracts } = wanted;
      // No contracts: an eth_getLogs without addresses would return every token's Transfers.
      const getLogs = contracts.length > 0;
      const answers = await rpc.sendTogether([
        ...(getLogs
          ? [
              [
                'eth_getLogs',
                [{ fromBlock: hex(from), toBlock: hex(to), address: contracts, topics: [topics] }],
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
      const untimed = new Set<number>();
      for (const entry of logs) {
        if (entry.removed) continue;
        for (const transfer of decodeTransfers(entry, kinds)) {
          if (entry.blockTimestamp) transfer.blockTimestamp = Number(entry.blockTimestamp);
          else untimed.add(transfer.blockNumber);
          transfers.push(transfer);
        }
      }
      if (last) untimed.delete(Number(last.number));
      const times = await timesOf([...untimed]);
      if (last) times.set(Number(last.number), Number(last.timestamp));
      for (const t of transfers) t.blockTimestamp ??= times.get(t.blockNumber);
      transfers.sort(
        (a, b) =>
          a.blockNumber - b.blockNumber ||
          a.logIndex - b.logIndex ||
          (a.batchIndex ?? 0) - (b.batchIndex ?? 0),
      );
      return {
        transfers,
        nativeBalances: wallets.map((wallet, i) => ({
          wallet,
          balance: BigInt(balances[i]!).toString(),
        })),
        last: last && headerOf(last),
      };
    },
    tokenMetadata: async (contract): Promise<TokenMetadata> => {
      const [name, symbol, decimals] = await Promise.all([
        call(contract.address, metadataAbi.encodeFunctionData('name')),
        call(contract.address, metadataAbi.encodeFunctionData('symbol')),
        contract.kind === 'erc20'
          ? call(contract.address, metadataAbi.encodeFunctionData('decimals'))
          : Promise.resolve(null),
      ]);
      let places: number | null = null;
      if (decimals && /^0x[0-9a-f]{64}$/i.test(decimals)) {
        const n = BigInt(decimals);
        if (n <= 255n) places = Number(n);
      }
      return {
        name: name && decodeText(name),
        symbol: symbol && decodeText(symbol),
        decimals: places,
      };
    },
    endpoints: () => rpc.health(),
    close: () => rpc.close(),
  };
};
