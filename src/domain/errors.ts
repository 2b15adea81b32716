/**
 * Why a command was refused. Codes are stable and machine-readable: the gateway maps the kind to
 * an HTTP status (not_found → 404, forbidden → 403, conflict → 409, invalid → 422).
 */
export type DomainErrorKind = 'not_found' | 'forbidden' | 'conflict' | 'invalid';

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const notFound = (code: string, message: string) =>
  new DomainError('not_found', code, message);
export const forbidden = (code: string, message: string) =>
  new DomainError('forbidden', code, message);
export const conflict = (code: string, message: string) =>
  new DomainError('conflict', code, message);
export const invalid = (code: string, message: string) => new DomainError('invalid', code, message);
