import { invalid } from './errors.js';

/**
 * The first `max` UTF-16 units of `text`, never ending in half a surrogate pair: a lone
 * surrogate is not valid JSON text, and the event store and PostgreSQL's jsonb refuse it.
 */
export const clip = (text: string, max: number) =>
  text.slice(0, max).replace(/[\uD800-\uDBFF]$/, '');

/**
 * Whether every store can keep the text: PostgreSQL's text and jsonb cannot hold NUL, and a lone
 * surrogate is not Unicode (JSON cannot carry it to them).
 */
export const isStorableText = (text: string) => !text.includes('\u0000') && text.isWellFormed();

/** Refuses text no store can keep, naming what it is for. */
export const assertStorableText = (text: string, code: string, what: string) => {
  if (!isStorableText(text))
    throw invalid(code, `${what} must not contain a NUL character or a lone surrogate`);
};

/**
 * Text kept for people to read and relied on by nothing (a file's original name): what cannot be
 * stored becomes U+FFFD, the replacement character, rather than refusing what holds it.
 */
export const toStorableText = (text: string) => text.toWellFormed().replaceAll('\u0000', '\uFFFD');
