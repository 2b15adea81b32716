import { whyNotStorable } from '../../../domain/json.js';
import { ApiError } from './errors.js';

/**
 * Refuses request input that would pass the schemas but fail deeper down: text the database
 * cannot hold, and JSON nested so deep that validating it would exhaust the stack. The rule is
 * the domain's own (src/domain/json.ts), answered here as a 400 before any schema walks it.
 */
export const guardContent = (where: string, value: unknown) => {
  // No body, no query: nothing to guard (a part may be optional, as the guest sign-in's body).
  if (value === undefined) return;
  const reason = whyNotStorable(value);
  if (reason) throw new ApiError(400, 'invalid_content', `${where} ${reason}`);
};
