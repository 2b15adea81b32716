import { Router } from 'express';
import { createDocument, type oas31, type ZodOpenApiPathsObject } from 'zod-openapi';
import type { ApiContext } from './context.js';
import { mountRoute, openApiPaths, type Route, type RouteMiddleware } from './route.js';
import { assetRoutes } from './routes/assets.js';
import { authRoutes } from './routes/auth.js';
import { chainRoutes } from './routes/chains.js';
import { historyRoutes } from './routes/history.js';
import { objectRoutes } from './routes/objects.js';
import { userRoutes } from './routes/users.js';
import { worldRoutes } from './routes/worlds.js';

export const API_PREFIX = '/api/v1';

export const apiRoutes = (context: ApiContext): Route[] => [
  ...authRoutes(context),
  ...userRoutes(context),
  ...worldRoutes(context),
  ...objectRoutes(context),
  ...assetRoutes(context),
  ...chainRoutes(context),
  ...historyRoutes(context),
];

/** The OpenAPI 3.1 document, made from the same route definitions that serve the requests. */
export const openApiDocument = (
  routes: readonly Route[],
  /** Paths written by hand: routes whose bodies are not JSON. */
  extraPaths: ZodOpenApiPathsObject = {},
): oas31.OpenAPIObject =>
  createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Odyssey API',
      version: '1.0.0',
      description:
        'Shared 3D worlds: sign-in, users, worlds, objects. Writes answer with the `position` of ' +
        'their events; pass it as `after` on a read to read your own write.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
    paths: {
      ...openApiPaths(routes, API_PREFIX),
      ...extraPaths,
      [`${API_PREFIX}/openapi.json`]: {
        get: {
          operationId: 'getOpenApiDocument',
          summary: 'This document; a Swagger UI over it is at /api/docs',
          tags: ['meta'],
          responses: { 200: { description: 'The OpenAPI 3.1 document' } },
        },
      },
    },
  });

export const apiRouter = (routes: readonly Route[], middleware: RouteMiddleware) => {
  const router = Router();
  for (const definition of routes) mountRoute(router, definition, middleware);
  return router;
};
