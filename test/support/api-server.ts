/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are checked against the OpenAPI document at run time (see apiClient), not typed here. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { loadConfig, type Config } from '../../src/app/config.js';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/app/gateway.js';
import { answerClientErrorsInJson } from '../../src/gateway/http/client-errors.js';
import { createLogger } from '../../src/shared/log.js';
import { openBlobStore } from '../../src/app/open-blob-store.js';
import type { Storage } from '../../src/app/open-storage.js';
import { openPgliteClient } from '../../src/storage/sql/pglite-client.js';
import { openPostgresClient } from '../../src/storage/sql/postgres-client.js';
import type { SqlClient } from '../../src/storage/sql/sql-client.js';
import { openSqlEventStore } from '../../src/storage/sql/sql-event-store.js';
import { postgresUnavailable, testDatabaseUrl } from './postgres.js';

export type Backend = 'PGlite' | 'PostgreSQL';

export interface ApiServer {
  url: string;
  /** The schema holding its event log and read models. */
  schema: string;
  gateway: Gateway;
  storage: Storage;
  config: Config;
  stop(): Promise<void>;
}

/** Opens the backend's database, or undefined (with the reason logged by the caller) when absent. */
export const openBackend = async (backend: Backend): Promise<SqlClient | undefined> =>
  backend === 'PGlite'
    ? openPgliteClient()
    : (await postgresUnavailable())
      ? undefined
      : openPostgresClient(testDatabaseUrl, { max: 10 });

/**
 * The app as `odyssey serve` builds it, listening on a free port, over a schema of its own (so
 * runs never see each other's data). `adjust` changes the configuration for one test.
 */
export const startApiServer = async (
  sql: SqlClient,
  adjust: (config: Config) => Config = (c) => c,
  gatewayOptions: Omit<GatewayOptions, 'schema'> = {},
  /** Another gateway over this one's log and read models (which it leaves to this one to keep). */
  alongside?: ApiServer,
): Promise<ApiServer> => {
  const schema = alongside?.schema ?? `api_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'odyssey-api-'));
  const config = adjust(loadConfig({ DATA_DIR: dataDir }));
  const events = await openSqlEventStore(sql, { schema });
  const blobs = await openBlobStore(config.blobs);
  const storage: Storage = {
    events,
    sql,
    blobs,
    describe: { events: sql.dialect, readModels: sql.dialect, blobs: blobs.kind },
    close: async () => {
      await events.close();
      await blobs.close();
    },
  };
  const gateway = await createGateway(storage, config, createLogger('silent'), {
    schema,
    ...(alongside ? { runProjections: false } : {}),
    ...gatewayOptions,
  });
  const server: Server = gateway.app.listen(0, '127.0.0.1');
  answerClientErrorsInJson(server);
  await new Promise((resolve) => server.once('listening', resolve));
  gateway.attachRealtime(server);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    schema,
    gateway,
    storage,
    config,
    stop: async () => {
      await gateway.closeRealtime();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await gateway.stop();
      await events.close();
      await blobs.close();
      if (!alongside) await sql.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
};

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

interface OpenApiDocument {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
  components: object;
}

/**
 * An HTTP client for the API that checks every answer against the app's own OpenAPI document:
 * the status must be documented for the route, and the body must fit its schema.
 */
export const apiClient = async (url: string) => {
  const document = (await (await fetch(`${url}/api/v1/openapi.json`)).json()) as OpenApiDocument;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const validators = new Map<string, ValidateFunction>();
  const templates = Object.keys(document.paths).map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }));
  let validated = 0;

  const check = (method: string, path: string, status: number, body: unknown) => {
    const bare = path.split('?')[0]!;
    const matches = templates.filter((t) => t.pattern.test(bare));
    if (matches.length === 0) return; // an unknown route: nothing documented to check against
    // The most specific template: the one with the fewest parameters.
    const { template } = matches.sort(
      (a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0),
    )[0]!;
    const operation = document.paths[template]![method.toLowerCase()];
    if (!operation) return;
    const response = operation.responses[String(status)];
    assert.ok(
      response,
      `${method} ${template} answered ${status}, which its OpenAPI entry does not list`,
    );
    const schema = response.content?.['application/json']?.schema;
    if (!schema) return;
    const key = `${method} ${template} ${status}`;
    let validate = validators.get(key);
    if (!validate) {
      validate = ajv.compile({ ...schema, components: document.components });
      validators.set(key, validate);
    }
    assert.ok(
      validate(body),
      `${key}: the body does not fit the OpenAPI document: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`,
    );
    validated++;
  };

  const request = async <T = any>(
    method: string,
    path: string,
    options: {
      token?: string;
      body?: unknown;
      raw?: string;
      /** A multipart form (fetch sets its content type). */
      form?: FormData;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Reply<T>> => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | FormData | undefined = options.form ?? options.raw;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${url}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    const isJson = response.headers.get('content-type')?.includes('json');
    const isText = isJson || response.headers.get('content-type')?.startsWith('text/');
    // Anything but JSON and text (asset bytes) comes back as a Buffer.
    const parsed =
      bytes.length === 0
        ? ''
        : isJson
          ? JSON.parse(bytes.toString('utf8'))
          : isText
            ? bytes.toString('utf8')
            : bytes;
    check(method, path, response.status, parsed);
    return { status: response.status, body: parsed as T, headers: response.headers };
  };

  return { document, request, validatedCount: () => validated };
};
