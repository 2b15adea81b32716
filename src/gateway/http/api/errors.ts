import type { ErrorRequestHandler } from 'express';
import type { z } from 'zod';
import { DomainError, type DomainErrorKind } from '../../../domain/errors.js';
import { EventStoreError } from '../../../storage/event-store/errors.js';
import type { Logger } from '../../../shared/log.js';

/** A refusal the client can act on: an HTTP status and a stable snake_case code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const errorBody = (code: string, message: string) => ({ error: { code, message } });

const STATUS_OF_KIND: Record<DomainErrorKind, number> = {
  not_found: 404,
  forbidden: 403,
  conflict: 409,
  invalid: 422,
};

/** Where zod found the first problem, as a message a person can fix the request from. */
const describeIssues = (where: string, error: z.ZodError) => {
  const issue = error.issues[0];
  const path = issue?.path.length ? issue.path.join('.') : where;
  return `${where === path ? where : `${where} ${path}`}: ${issue?.message ?? 'is invalid'}`;
};

export const invalidRequest = (where: 'body' | 'query' | 'path', error: z.ZodError) =>
  new ApiError(400, 'invalid_request', describeIssues(where, error));

/** express's own errors (body-parser) carry a `type` and a `status`. */
interface ParserError {
  type?: string;
  status?: number;
  expose?: boolean;
}

const PARSER_ERRORS: Record<string, [number, string]> = {
  'entity.parse.failed': [400, 'malformed_json'],
  'entity.too.large': [413, 'payload_too_large'],
  'encoding.unsupported': [415, 'unsupported_encoding'],
  'charset.unsupported': [415, 'unsupported_charset'],
  'request.aborted': [400, 'request_aborted'],
};

const toApiError = (error: unknown): ApiError | undefined => {
  if (error instanceof ApiError) return error;
  if (error instanceof DomainError)
    return new ApiError(STATUS_OF_KIND[error.kind], error.code, error.message);
  if (error instanceof EventStoreError) {
    if (error.code === 'wrong_expected_version')
      return new ApiError(
        409,
        'concurrent_change',
        'someone else changed this at the same time; try again',
      );
    if (error.code === 'event_too_large') return new ApiError(413, error.code, error.message);
    if (error.code === 'invalid_position') return new ApiError(400, error.code, error.message);
    // Text the log cannot hold (NUL, a lone surrogate) or JSON nested too deep.
    if (error.code === 'invalid_event') return new ApiError(400, 'invalid_content', error.message);
    if (error.code === 'duplicate_event_id')
      return new ApiError(409, 'duplicate_request', 'this request was already made differently');
    if (error.code === 'integrity_failed') return new ApiError(503, error.code, error.message);
    if (error.code === 'event_store_unavailable')
      return new ApiError(503, error.code, error.message, { 'retry-after': '1' });
    return undefined;
  }
  const parser = error as ParserError;
  const known = parser?.type ? PARSER_ERRORS[parser.type] : undefined;
  if (known) return new ApiError(known[0], known[1], (error as Error).message);
  // Other client errors express raises (a malformed percent-encoding, a body that is not gzip).
  if (typeof parser?.status === 'number' && parser.status >= 400 && parser.status < 500)
    return new ApiError(parser.status, 'bad_request', (error as Error).message);
  // SQLSTATE class 22, data exception: a value the database refuses (a NUL in text, a bad date).
  const sqlState = (error as { code?: unknown }).code;
  if (typeof sqlState === 'string' && /^22[0-9A-Z]{3}$/.test(sqlState))
    return new ApiError(400, 'invalid_request', 'a value in the request is not acceptable');
  return undefined;
};

/** Everything that reaches the client has the one error shape; the unexpected is logged. */
export const errorHandler =
  (log: Logger): ErrorRequestHandler =>
  (error, req, res, _next) => {
    const known = toApiError(error);
    if (known) {
      res.set(known.headers).status(known.status).json(errorBody(known.code, known.message));
      return;
    }
    log.error({ err: error, method: req.method, url: req.originalUrl }, 'request failed');
    res.status(500).json(errorBody('internal_error', 'something went wrong on our side'));
  };
