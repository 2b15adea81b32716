import type { Logger } from '../../shared/log.js';

/**
 * polkadot-js logs through `console` (`2026-12-03 20:00:13        API/INIT: …`) and takes no logger,
 * so its notes ("MetadataApi not available …", "RPC methods not decorated …") would land on
 * stderr beside the one line a bad configuration must give, and outside the structured logs.
 * Its lines, told apart by their shape (a date, then an upper-case `SOURCE:`), go to the
 * harvester's logger instead: its errors as warnings, the rest at debug. Anything else written
 * to the console passes through untouched.
 */

const DATE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const SOURCE = /^[A-Z0-9/_-]+:$/;

let routed = false;

export const routePolkadotLogs = (log: Logger) => {
  if (routed) return;
  routed = true;
  for (const method of ['log', 'warn', 'error'] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      const [date, source, ...rest] = args;
      if (typeof date !== 'string' || !DATE.test(date)) return original(...args);
      // Padded on the left to line up: `        API/INIT:`.
      const origin = typeof source === 'string' ? source.trim() : '';
      if (!SOURCE.test(origin)) return original(...args);
      const fields = { polkadot: origin.slice(0, -1).toLowerCase() };
      const message = rest.map((part) => (part instanceof Error ? part.message : String(part)));
      if (method === 'error') log.warn(fields, message.join(' '));
      else log.debug(fields, message.join(' '));
    };
  }
};
