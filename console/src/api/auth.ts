import { BrowserProvider, Wallet, type Eip1193Provider } from 'ethers';
import { get, post, setToken } from './rest.js';
import type { Session, User } from './types.js';

/**
 * Sign-in as the README describes it: a guest at once, or a wallet that signs the server's
 * EIP-4361 challenge with EIP-191 personal_sign. The console's generated wallet is an ethers
 * Wallet whose key stays in this browser's localStorage; nothing is faked on the server, which
 * checks the signature as it would MetaMask's.
 */
const KEY_STORAGE = 'odyssey.console.walletKey';
const SESSION_STORAGE = 'odyssey.console.session';

interface SignedIn {
  token: string;
  user: User;
}

const remember = (session: Session): Session => {
  setToken(session.token);
  localStorage.setItem(SESSION_STORAGE, JSON.stringify(session));
  return session;
};

export const restoreSession = (): Session | undefined => {
  const stored = localStorage.getItem(SESSION_STORAGE);
  if (!stored) return undefined;
  try {
    const session = JSON.parse(stored) as Session;
    setToken(session.token);
    return session;
  } catch {
    return undefined;
  }
};

export const signOut = () => {
  setToken(undefined);
  localStorage.removeItem(SESSION_STORAGE);
};

export const signInAsGuest = async (): Promise<Session> => {
  const { token, user } = await post<SignedIn>('auth/guest');
  return remember({ token, user, how: 'guest' });
};

/** The browser's own wallet: made once, then kept in localStorage (a development key, not a vault). */
export const generatedWallet = (): Wallet => {
  const stored = localStorage.getItem(KEY_STORAGE);
  if (stored) return new Wallet(stored);
  const wallet = Wallet.createRandom();
  localStorage.setItem(KEY_STORAGE, wallet.privateKey);
  return new Wallet(wallet.privateKey);
};

export const forgetGeneratedWallet = () => localStorage.removeItem(KEY_STORAGE);

export const hasGeneratedWallet = () => localStorage.getItem(KEY_STORAGE) !== null;

/** Asks the server for a challenge, has it signed, and trades message and signature for a token. */
const signInWith = async (
  address: string,
  sign: (message: string) => Promise<string>,
  how: Session['how'],
): Promise<Session> => {
  const { challenge } = await get<{ challenge: string }>(
    `auth/challenge?wallet=${encodeURIComponent(address)}&network=ethereum`,
  );
  const signature = await sign(challenge);
  const { token, user } = await post<SignedIn>('auth/token', {
    wallet: address,
    network: 'ethereum',
    challenge,
    signature,
  });
  return remember({ token, user, how });
};

export const signInWithGeneratedWallet = () => {
  const wallet = generatedWallet();
  return signInWith(wallet.address, (message) => wallet.signMessage(message), 'generated-wallet');
};

const injected = (): Eip1193Provider | undefined =>
  (globalThis as { ethereum?: Eip1193Provider }).ethereum;

export const hasInjectedWallet = () => injected() !== undefined;

export const signInWithInjectedWallet = async () => {
  const provider = injected();
  if (!provider) throw new Error('no wallet in this browser');
  const signer = await new BrowserProvider(provider).getSigner();
  return signInWith(
    await signer.getAddress(),
    (message) => signer.signMessage(message),
    'injected-wallet',
  );
};
