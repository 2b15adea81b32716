import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { Interface } from 'ethers';
import { spawnProcess, stopProcess } from './processes.js';

/**
 * Local EVM chains for the tests: anvil from npm on a free port, stopped afterwards; the
 * OpenZeppelin 4.9 presets deployed from their shipped artifacts; transfers sent in bulk and
 * mined by hand (anvil's automine stalls under load).
 */

const require = createRequire(import.meta.url);
const artifact = (name: string) =>
  require(`@openzeppelin/contracts/build/contracts/${name}.json`) as {
    abi: unknown[];
    bytecode: string;
  };
const ERC20 = artifact('ERC20PresetMinterPauser');
const ERC721 = artifact('ERC721PresetMinterPauserAutoId');
const ERC1155 = artifact('ERC1155PresetMinterPauser');
export const erc20 = new Interface(ERC20.abi as string[]);
export const erc721 = new Interface(ERC721.abi as string[]);
export const erc1155 = new Interface(ERC1155.abi as string[]);

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

export interface Anvil {
  url: string;
  accounts: string[];
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  batch<T = unknown>(calls: Array<[string, unknown[]]>): Promise<T[]>;
  stop(): Promise<void>;
}

export const startAnvil = async (
  options: { chainId: number; slotsInAnEpoch?: number; accounts?: number } = { chainId: 1 },
): Promise<Anvil> => {
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--chain-id',
    String(options.chainId),
    '--accounts',
    String(options.accounts ?? 20),
    '--silent',
    ...(options.slotsInAnEpoch ? ['--slots-in-an-epoch', String(options.slotsInAnEpoch)] : []),
  ];
  // The platform package's binary itself, so that stopping it stops the chain (the npm wrapper
  // would leave it behind).
  const binary = require.resolve('@foundry-rs/anvil-linux-amd64/bin/anvil');
  const child = spawnProcess(binary, args);
  child.stdout.resume();
  child.stderr.resume();
  const url = `http://127.0.0.1:${port}`;
  let id = 0;
  const post = async (body: unknown) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return response.json() as Promise<unknown>;
  };
  const rpc = async <T>(method: string, params: unknown[] = []): Promise<T> => {
    const answer = (await post({ jsonrpc: '2.0', id: ++id, method, params })) as {
      result?: T;
      error?: { message: string };
    };
    if (answer.error) throw new Error(`${method}: ${answer.error.message}`);
    return answer.result as T;
  };
  const batch = async <T>(calls: Array<[string, unknown[]]>): Promise<T[]> => {
    if (calls.length === 0) return [];
    const first = id + 1;
    const answers = (await post(
      calls.map(([method, params]) => ({ jsonrpc: '2.0', id: ++id, method, params })),
    )) as Array<{ id: number; result?: T; error?: { message: string } }>;
    const results: T[] = new Array(calls.length);
    for (const a of answers) {
      if (a.error) throw new Error(`${calls[a.id - first]![0]}: ${a.error.message}`);
      results[a.id - first] = a.result as T;
    }
    return results;
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await rpc('eth_chainId');
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        await stopProcess(child, 'SIGKILL');
        throw new Error(`anvil did not start on port ${port}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const accounts = (await rpc<string[]>('eth_accounts')).map((a) => a.toLowerCase());
  return {
    url,
    accounts,
    rpc,
    batch,
    stop: async () => {
      await stopProcess(child);
    },
  };
};

const hex = (n: bigint | number) => `0x${n.toString(16)}`;

/** Deploys a contract from the first account and mines it; returns its lower-case address. */
const deploy = async (anvil: Anvil, bytecode: string, abi: Interface, args: unknown[]) => {
  const data = bytecode + abi.encodeDeploy(args).slice(2);
  const hash = await anvil.rpc<string>('eth_sendTransaction', [
    { from: anvil.accounts[0], data, gas: hex(6_000_000) },
  ]);
  await mineAll(anvil);
  const receipt = await anvil.rpc<{ contractAddress: string; status: string }>(
    'eth_getTransactionReceipt',
    [hash],
  );
  if (receipt.status !== '0x1') throw new Error('deployment failed');
  return receipt.contractAddress.toLowerCase();
};

export const deployErc20 = (anvil: Anvil, symbol = 'MOM') =>
  deploy(anvil, ERC20.bytecode, erc20, [`${symbol} token`, symbol]);
export const deployErc721 = (anvil: Anvil, symbol = 'ODY') =>
  deploy(anvil, ERC721.bytecode, erc721, [`${symbol} worlds`, symbol, 'https://example.org/']);

export const deployErc1155 = (anvil: Anvil) =>
  deploy(anvil, ERC1155.bytecode, erc1155, ['https://example.org/{id}.json']);

/** Mines until no transaction is pending. */
export const mineAll = async (anvil: Anvil) => {
  for (;;) {
    await anvil.rpc('evm_mine');
    const status = await anvil.rpc<{ pending: string }>('txpool_status');
    if (Number(status.pending) === 0) return;
  }
};

export interface Tx {
  from: string;
  to: string;
  data: string;
  /** Wei sent along, as a 0x quantity. */
  value?: string;
}

/**
 * Sends transactions from unlocked accounts with explicit nonces and gas (no estimation), in
 * JSON-RPC batches, then mines them into blocks of at most `perBlock`.
 */
export const sendAndMine = async (anvil: Anvil, txs: readonly Tx[], perBlock = 200) => {
  await anvil.rpc('evm_setAutomine', [false]);
  const nonces = new Map<string, number>();
  const senders = [...new Set(txs.map((t) => t.from))];
  const counts = await anvil.batch<string>(
    senders.map((s) => ['eth_getTransactionCount', [s, 'pending']]),
  );
  senders.forEach((s, i) => nonces.set(s, Number(counts[i])));
  for (let i = 0; i < txs.length; i += perBlock) {
    const chunk = txs.slice(i, i + perBlock).map((t): [string, unknown[]] => {
      const nonce = nonces.get(t.from)!;
      nonces.set(t.from, nonce + 1);
      return ['eth_sendTransaction', [{ ...t, nonce: hex(nonce), gas: hex(200_000) }]];
    });
    await anvil.batch(chunk);
    await mineAll(anvil);
  }
};

export const mintErc20 = (anvil: Anvil, token: string, to: string, amount: bigint): Tx => ({
  from: anvil.accounts[0]!,
  to: token,
  data: erc20.encodeFunctionData('mint', [to, amount]),
});
export const transferErc20 = (from: string, token: string, to: string, amount: bigint): Tx => ({
  from,
  to: token,
  data: erc20.encodeFunctionData('transfer', [to, amount]),
});
export const mintErc721 = (anvil: Anvil, nft: string, to: string): Tx => ({
  from: anvil.accounts[0]!,
  to: nft,
  data: erc721.encodeFunctionData('mint', [to]),
});
export const transferErc721 = (from: string, nft: string, to: string, tokenId: bigint): Tx => ({
  from,
  to: nft,
  data: erc721.encodeFunctionData('transferFrom', [from, to, tokenId]),
});

export const mintErc1155 = (
  anvil: Anvil,
  contract: string,
  to: string,
  ids: readonly bigint[],
  amounts: readonly bigint[],
): Tx => ({
  from: anvil.accounts[0]!,
  to: contract,
  data: erc1155.encodeFunctionData('mintBatch', [to, ids, amounts, '0x']),
});
/** A TransferSingle. */
export const transferErc1155 = (
  from: string,
  contract: string,
  to: string,
  id: bigint,
  amount: bigint,
): Tx => ({
  from,
  to: contract,
  data: erc1155.encodeFunctionData('safeTransferFrom', [from, to, id, amount, '0x']),
});
/** A TransferBatch. */
export const batchTransferErc1155 = (
  from: string,
  contract: string,
  to: string,
  ids: readonly bigint[],
  amounts: readonly bigint[],
): Tx => ({
  from,
  to: contract,
  data: erc1155.encodeFunctionData('safeBatchTransferFrom', [from, to, ids, amounts, '0x']),
});
/** The holder burns amounts of several ids: a TransferBatch to the zero address. */
export const burnErc1155 = (
  from: string,
  contract: string,
  ids: readonly bigint[],
  amounts: readonly bigint[],
): Tx => ({
  from,
  to: contract,
  data: erc1155.encodeFunctionData('burnBatch', [from, ids, amounts]),
});

/** ERC1155 balanceOf for each (wallet, id) at head, as decimal strings. */
export const erc1155BalancesAtHead = async (
  anvil: Anvil,
  contract: string,
  pairs: ReadonlyArray<[string, bigint]>,
) =>
  (
    await anvil.batch<string>(
      pairs.map(([wallet, id]) => [
        'eth_call',
        [{ to: contract, data: erc1155.encodeFunctionData('balanceOf', [wallet, id]) }, 'latest'],
      ]),
    )
  ).map((r) => BigInt(r).toString());

/** The holder burns the token: a Transfer to the zero address. */
export const burnErc721 = (from: string, nft: string, tokenId: bigint): Tx => ({
  from,
  to: nft,
  data: erc721.encodeFunctionData('burn', [tokenId]),
});

/** balanceOf for each (contract, wallet) at head, as decimal strings. */
export const balancesAtHead = async (anvil: Anvil, pairs: ReadonlyArray<[string, string]>) => {
  const results = await anvil.batch<string>(
    pairs.map(([contract, wallet]) => [
      'eth_call',
      [{ to: contract, data: erc20.encodeFunctionData('balanceOf', [wallet]) }, 'latest'],
    ]),
  );
  return results.map((r) => BigInt(r).toString());
};

export const ownersAtHead = async (anvil: Anvil, nft: string, tokenIds: readonly bigint[]) => {
  const results = await anvil.batch<string>(
    tokenIds.map((tokenId) => [
      'eth_call',
      [{ to: nft, data: erc721.encodeFunctionData('ownerOf', [tokenId]) }, 'latest'],
    ]),
  );
  return results.map((r) => `0x${r.slice(26)}`.toLowerCase());
};

/** A plain ETH transfer. */
export const sendEth = (from: string, to: string, wei: bigint): Tx => ({
  from,
  to,
  data: '0x',
  value: hex(wei),
});

/** eth_getBalance for each wallet at head, as decimal strings. */
export const nativeBalancesAtHead = async (anvil: Anvil, wallets: readonly string[]) =>
  (await anvil.batch<string>(wallets.map((w) => ['eth_getBalance', [w, 'latest']]))).map((r) =>
    BigInt(r).toString(),
  );
