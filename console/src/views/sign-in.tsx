import {
  forgetGeneratedWallet,
  generatedWallet,
  hasGeneratedWallet,
  hasInjectedWallet,
  signInAsGuest,
  signInWithGeneratedWallet,
  signInWithInjectedWallet,
} from '../api/auth.js';
import type { Session } from '../api/types.js';
import { ErrorLine, Panel, useAction } from './common.js';
import { useState } from 'preact/hooks';

export const SignIn = ({ onSignedIn }: { onSignedIn: (session: Session) => void }) => {
  const { busy, error, run } = useAction();
  const [address, setAddress] = useState(() =>
    hasGeneratedWallet() ? generatedWallet().address : undefined,
  );
  const go = (signIn: () => Promise<Session>) =>
    void run(async () => {
      const session = await signIn();
      onSignedIn(session);
    });
  return (
    <div class="sign-in">
      <Panel title="Sign in">
        <p>
          A guest may look around and walk; creating worlds and uploading assets need a wallet. The
          console can make a wallet for you in this browser: it signs the server's sign-in message
          (EIP-4361) with EIP-191, as MetaMask would. Signing is free and sends no transaction.
        </p>
        <div class="buttons">
          <button type="button" disabled={busy} onClick={() => go(signInAsGuest)}>
            Continue as guest
          </button>
          <button
            type="button"
            class="primary"
            disabled={busy}
            onClick={() =>
              go(async () => {
                const session = await signInWithGeneratedWallet();
                setAddress(generatedWallet().address);
                return session;
              })
            }
          >
            {address ? 'Sign in with this browser’s wallet' : 'Generate a wallet and sign in'}
          </button>
          {hasInjectedWallet() && (
            <button type="button" disabled={busy} onClick={() => go(signInWithInjectedWallet)}>
              Sign in with your wallet extension
            </button>
          )}
        </div>
        {address && (
          <p class="muted">
            This browser’s wallet: <code data-testid="wallet-address">{address}</code>{' '}
            <button
              type="button"
              class="link"
              onClick={() => {
                forgetGeneratedWallet();
                setAddress(undefined);
              }}
            >
              forget it
            </button>
          </p>
        )}
        {busy && <p aria-live="polite">Signing in…</p>}
        <ErrorLine error={error} />
      </Panel>
    </div>
  );
};
