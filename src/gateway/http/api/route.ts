import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiPathsObject } from 'zod-openapi';
import { guardContent } from './content-guard.js';
import { ApiError, invalidRequest } from './errors.js';
import { ErrorResponse } from './schemas.js';

/** Who made the request, from a verified token. */
export interface Caller {
  userId: string;
  /** How they signed in: 'guest', 'ethereum' or 'polkadot'. */
  auth: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    caller?: Caller;
  }
}

export type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';
export type Limit = 'signIn' | 'write';

type Schema = z.ZodType;
type Output<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteInput<P, Q, B, A extends 'none' | 'user'> {
  params: Output<P>;
  query: Output<Q>;
  body: Output<B>;
  caller: A extends 'user' ? Caller : Caller | undefined;
  request: Request;
}

/**
 * One endpoint: its shape (what OpenAPI publishes and what the request is checked against) and
 * what it does. Requests are parsed strictly: an unknown field is refused, not ignored.
 */
export interface Route<
  P extends Schema | undefined = Schema | undefined,
  Q extends Schema | undefined = Schema | undefined,
  B extends Schema | undefined = Schema | undefined,
  A extends 'none' | 'user' = 'none' | 'user',
> {
  method: Method;
  /** express style: /worlds/:worldId */
  path: string;
  operationId: string;
  summary: string;
  tags: readonly string[];
  auth: A;
  limits?: readonly Limit[];
  params?: P;
  query?: Q;
  body?: B;
  /** Success statuses and their bodies; every route also documents the shared error statuses. */
  responses: Record<
    number,
    { description: string; schema?: Schema; headers?: Record<string, Schema> }
  >;
  handle: (input: RouteInput<P, Q, B, A>) => Promise<Reply>;
}

/** Keeps each route's input types tied to its own schemas. */
export const route = <
  P extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
  B extends Schema | undefined = undefined,
  A extends 'none' | 'user' = 'user',
>(
  definition: Route<P, Q, B, A>,
) => definition as unknown as Route;

export interface RouteMiddleware {
  /** Verifies the bearer token; sets the caller or fails with 401. */
  authenticate: (request: Request) => Promise<Caller | undefined>;
  limiters: Record<Limit, RequestHandler>;
}

const parse = (where: 'body' | 'query' | 'path', schema: Schema | undefined, value: unknown) => {
  if (!schema) return undefined;
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw invalidRequest(where, result.error);
  return result.data;
};

/** Puts the signed-in caller on the request; with `required`, no caller is a 401. */
export const attachCaller =
  (middleware: RouteMiddleware, required: boolean): RequestHandler =>
  (request, _response, next) => {
    middleware
      .authenticate(request)
      .then((caller) => {
        if (required && !caller) {
          throw new ApiError(
            401,
            'unauthenticated',
            'sign in and send the token as a Bearer token',
          );
        }
        request.caller = caller;
        next();
      })
      .catch(next);
  };

export const mountRoute = (router: Router, definition: Route, middleware: RouteMiddleware) => {
  const limits = (definition.limits ?? []).map((limit) => middleware.limiters[limit]);
  const handle = (request: Request, response: Response, next: NextFunction) => {
    Promise.resolve()
      .then(async () => {
        guardContent('path', request.params);
        guardContent('query', request.query);
        guardContent('body', request.body);
        const hasBody = request.body !== undefined && request.body !== null;
        if (!definition.body && hasBody && Object.keys(request.body as object).length > 0) {
          throw new ApiError(400, 'invalid_request', 'body: this route takes no body');
        }
        const reply = await definition.handle({
          params: parse('path', definition.params, request.params),
          query: parse('query', definition.query, request.query),
          body: parse('body', definition.body, request.body),
          caller: request.caller,
          request,
        } as RouteInput<Schema, Schema, Schema, 'none'>);
        response.set(reply.headers ?? {});
        response.status(reply.status ?? 200);
        if (reply.body === undefined) response.end();
        else response.json(reply.body);
      })
      .catch(next);
  };
  router[definition.method](
    definition.path,
    attachCaller(middleware, definition.auth === 'user'),
    ...limits,
    handle,
  );
};

const ERROR_STATUSES: Record<number, string> = {
  400: 'The request is malformed: a missing, extra or mistyped field, or an invalid id',
  401: 'No valid token',
  403: 'The caller may not do this',
  404: 'No such thing',
  409: 'It conflicts with the current state',
  413: 'The body is too large',
  415: 'The body is not JSON',
  422: 'Well-formed, but a rule of the domain refuses it',
  429: 'Too many requests; see Retry-After',
  431: 'The request headers are too large',
  503: 'Not ready: a read model is behind or the store is unreachable; see Retry-After',
};

const json = (schema: Schema) => ({ content: { 'application/json': { schema } } });

/** express `/worlds/:worldId` → OpenAPI `/worlds/{worldId}` */
export const openApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

export const openApiPaths = (routes: readonly Route[], prefix: string): ZodOpenApiPathsObject => {
  const paths: ZodOpenApiPathsObject = {};
  for (const r of routes) {
    const operation: ZodOpenApiOperationObject = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [...r.tags],
      ...(r.auth === 'user' ? { security: [{ bearer: [] }] } : {}),
      ...(r.params || r.query
        ? {
            requestParams: {
              ...(r.params ? { path: r.params as z.ZodObject } : {}),
              ...(r.query ? { query: r.query as z.ZodObject } : {}),
            },
          }
        : {}),
      ...(r.body
        ? { requestBody: { required: !r.body.safeParse(undefined).success, ...json(r.body) } }
        : {}),
      responses: {
        ...Object.fromEntries(
          Object.entries(r.responses).map(([status, { description, schema }]) => [
            status,
            { description, ...(schema ? json(schema) : {}) },
          ]),
        ),
        ...Object.fromEntries(
          Object.entries(ERROR_STATUSES).map(([status, description]) => [
            status,
            { description, ...json(ErrorResponse) },
          ]),
        ),
      },
    };
    const path = `${prefix}${openApiPath(r.path)}`;
    paths[path] = { ...paths[path], [r.method]: operation };
  }
  return paths;
};
