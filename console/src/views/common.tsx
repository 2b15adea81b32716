import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/** An error as a person reads it: the API's code and message, or the exception's message. */
export const messageOf = (error: unknown) =>
  error instanceof Error
    ? `${'code' in error ? `${String((error as { code: unknown }).code)}: ` : ''}${error.message}`
    : String(error);

/** Runs an action, keeps its error for display, and says when it is busy. */
export const useAction = () => {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const run = async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(undefined);
    try {
      return await action();
    } catch (caught) {
      setError(messageOf(caught));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, setError };
};

export const ErrorLine = ({ error }: { error: string | undefined }) =>
  error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;

/** Calls `tick` now and every `ms` while mounted. */
export const useEvery = (ms: number, tick: () => void, deps: unknown[] = []) => {
  useEffect(() => {
    tick();
    const timer = setInterval(tick, ms);
    return () => clearInterval(timer);
  }, deps);
};

/** An id made of a title: aria-labelledby reads a list of ids separated by spaces. */
const slug = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-');

export const Panel = ({
  title,
  children,
  id,
}: {
  title: string;
  children: ComponentChildren;
  id?: string;
}) => (
  <section class="panel" aria-labelledby={`${slug(id ?? title)}-title`}>
    <h2 id={`${slug(id ?? title)}-title`}>{title}</h2>
    {children}
  </section>
);
