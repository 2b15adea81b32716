import { createHash } from 'node:crypto';

/**
 * A UUID that is a function of `text`: the same text, the same id. Shaped as a UUID of the given
 * version (8, custom, by default) so every store and schema accepts it.
 */
export const uuidOfText = (text: string, version: 4 | 8 = 8) => {
  const hex = createHash('sha256').update(text).digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${version}${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

/** The same command always gets the same event ids, so a write that is retried is not doubled. */
export const eventIdFor = (commandId: string, stream: string, index: number) =>
  uuidOfText(`${commandId}\u0000${stream}\u0000${index}`);
