/**
 * The first `max` UTF-16 units of `text`, never ending in half a surrogate pair: a lone
 * surrogate is not valid JSON text, and the event store and PostgreSQL's jsonb refuse it.
 */
export const clip = (text: string, max: number) =>
  text.slice(0, max).replace(/[\uD800-\uDBFF]$/, '');
