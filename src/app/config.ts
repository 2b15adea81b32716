import type { HttpConfig } from '../gateway/http/http-config.js';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_IMAGE_LIMITS, type ImageLimits } from '../domain/asset/image-limits.js';
import {
  CHAIN_STATES,
  DEFAULT_UNREADY_CHAIN_STATES,
  type ChainState,
} from '../domain/chain/health.js';
import {
  ChainConfigError,
  loadChainRegistry,
  type ChainConfig,
} from '../harvester/chain-config.js';

/** Where each part of the system keeps its data, decided once at start from the environment. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** PostgreSQL for events (unless KurrentDB) and read models; PGlite under dataDir when absent. */
  databaseUrl: string | undefined;
  databasePoolSize: number;
  /** KurrentDB for events; read models stay in SQL. */
  kurrentDbUrl: string | undefined;
  auth: {
    /** HS256 secret for tokens; generated once into the data folder when absent. */
    jwtSecret: string | undefined;
    tokenTtlSeconds: number;
    challengeTtlSeconds: number;
    /** The site users sign in on; its host is the domain in sign-in messages, which wallets check. */
    signInUri: string;
    /** The EIP-155 chain id in Ethereum sign-in messages. */
    signInChainId: number;
    guestInactiveSeconds: number;
  };
  posbus: {
    /** Position frames a second per world. */
    tickHz: number;
    /** Recent events kept for clients that reconnect; an older gap gets a fresh snapshot. */
    resumeBufferEvents: number;
    /** The same buffer's bounds in bytes and age; events larger than `largeEventBytes` stay out. */
    resumeBufferBytes: number;
    resumeBufferSeconds: number;
    largeEventBytes: number;
    /** Side of an interest cell in world units: a client sees its cell and the eight around. */
    cellSize: number;
    /** About how many other users a client is sent positions of (whole cells, nearest first). */
    visibleCap: number;
    /** NATS server shared by several gateways (positions, presence, locks); none when alone. */
    natsUrl: string | undefined;
    /** Which gateways on a shared NATS close out each other's lapsed presence leases. */
    cluster: string;
  };
  http: HttpConfig;
  blobs: BlobConfig;
  /** Largest upload of each kind of asset, in bytes. */
  assetLimits: Record<'image' | 'model' | 'audio' | 'video', number>;
  /** Largest image decoded (refused at upload beyond it). */
  images: ImageLimits;
  textures: TextureConfig;
  /** Chains the harvester follows (HARVESTER_CONFIG file or CHAINS JSON); none: no harvester. */
  chains: ChainConfig[];
  /** The variable the chain registry came from, when one was set (an empty registry is warned of). */
  chainRegistryFrom: 'HARVESTER_CONFIG' | 'CHAINS' | undefined;
  /** Chain states that make /ready answer 503. */
  readyChainStates: readonly ChainState[];
  /**
   * Wallet addresses (AUDITOR_WALLETS, comma-separated) whose users hold the auditor role: they
   * read the history of every stream.
   */
  auditorWallets: string[];
  audit: AuditConfig;
}

/** Seals and the integrity check at start. */
export interface AuditConfig {
  /** Ed25519 private key (PEM) given directly; else the file below, generated when absent. */
  sealKeyPem: string | undefined;
  sealKeyFile: string;
  /** Seconds between seals while events come in; 0: only on demand. */
  sealIntervalSeconds: number;
  /** What a failed integrity check does: refuse writes (default) or only warn. */
  onMismatch: 'refuse' | 'warn';
}

/** How much texture work a process takes on. */
export interface TextureConfig {
  /** Textures made at once. */
  concurrency: number;
  /** Textures waiting for a worker; beyond that 503. */
  queueSize: number;
  /** Longest one texture may take to make. */
  timeoutSeconds: number;
  /** Texture requests per IP address per minute. */
  requestsPerMinute: number;
}

/** Where asset bytes live: a folder (under the data folder by default) or an S3-compatible bucket. */
export type BlobConfig =
  | { store: 'disk'; dir: string }
  | {
      store: 's3';
      /** Local folder for uploads while they are hashed, before they go to the bucket. */
      stagingDir: string;
      endpoint: string | undefined;
      bucket: string;
      region: string;
      prefix: string;
      accessKeyId: string | undefined;
      secretAccessKey: string | undefined;
      forcePathStyle: boolean;
    };

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

const urlWithScheme = (schemes: readonly string[]) =>
  z
    .string()
    .refine(
      (value) => URL.canParse(value) && schemes.includes(new URL(value).protocol.slice(0, -1)),
      {
        message: `must be a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}`,
      },
    );

const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: `must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .refine((n) => n >= min && n <= max, {
      message: `must be a whole number from ${min} to ${max}`,
    });

const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

const Environment = z.object({
  PORT: optional(wholeNumber(0, 65535)),
  HOST: optional(z.string().min(1)),
  DATA_DIR: optional(z.string().min(1)),
  LOG_LEVEL: optional(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])),
  DATABASE_URL: optional(urlWithScheme(['postgres', 'postgresql'])),
  DATABASE_POOL_SIZE: optional(wholeNumber(1, 1000)),
  JWT_SECRET: optional(z.string().min(32, { message: 'must have at least 32 characters' })),
  TOKEN_TTL_SECONDS: optional(wholeNumber(60, 31_536_000)),
  CHALLENGE_TTL_SECONDS: optional(wholeNumber(10, 3600)),
  SIGN_IN_URI: optional(urlWithScheme(['http', 'https'])),
  SIGN_IN_CHAIN_ID: optional(wholeNumber(1, 2 ** 53 - 1)),
  GUEST_INACTIVE_SECONDS: optional(wholeNumber(60, 31_536_000)),
  CORS_ORIGINS: optional(z.string().min(1)),
  REQUEST_BODY_LIMIT_BYTES: optional(wholeNumber(1024, 16_777_216)),
  RATE_LIMIT_SIGN_IN_PER_MINUTE: optional(wholeNumber(1, 1_000_000)),
  RATE_LIMIT_WRITES_PER_MINUTE: optional(wholeNumber(1, 1_000_000)),
  READ_WAIT_MS: optional(wholeNumber(0, 60_000)),
  TRUST_PROXY_HOPS: optional(wholeNumber(0, 10)),
  POSBUS_TICK_HZ: optional(wholeNumber(1, 30)),
  POSBUS_RESUME_BUFFER_EVENTS: optional(wholeNumber(1, 10_000_000)),
  POSBUS_RESUME_BUFFER_BYTES: optional(wholeNumber(1024, 2 ** 40)),
  POSBUS_RESUME_BUFFER_SECONDS: optional(wholeNumber(1, 86_400)),
  POSBUS_LARGE_EVENT_BYTES: optional(wholeNumber(256, 2 ** 30)),
  POSBUS_CELL_SIZE: optional(wholeNumber(1, 100_000)),
  POSBUS_VISIBLE_CAP: optional(wholeNumber(1, 10_000)),
  NATS_URL: optional(urlWithScheme(['nats', 'tls'])),
  POSBUS_CLUSTER: optional(
    z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, {
      message: 'must be 1 to 64 letters, digits, - or _',
    }),
  ),
  BLOB_STORE: optional(z.enum(['disk', 's3'])),
  BLOB_DIR: optional(z.string().min(1)),
  S3_ENDPOINT: optional(urlWithScheme(['http', 'https'])),
  S3_BUCKET: optional(z.string().min(3).max(63)),
  S3_REGION: optional(z.string().min(1)),
  S3_PREFIX: optional(z.string().max(512)),
  S3_ACCESS_KEY_ID: optional(z.string().min(1)),
  S3_SECRET_ACCESS_KEY: optional(z.string().min(1)),
  S3_FORCE_PATH_STYLE: optional(z.enum(['true', 'false'])),
  ASSET_MAX_IMAGE_BYTES: optional(wholeNumber(1024, 2 ** 40)),
  ASSET_MAX_MODEL_BYTES: optional(wholeNumber(1024, 2 ** 40)),
  ASSET_MAX_AUDIO_BYTES: optional(wholeNumber(1024, 2 ** 40)),
  ASSET_MAX_VIDEO_BYTES: optional(wholeNumber(1024, 2 ** 40)),
  IMAGE_MAX_SIDE_PX: optional(wholeNumber(1, 1_000_000)),
  IMAGE_MAX_DECODED_BYTES: optional(wholeNumber(1024, 2 ** 40)),
  TEXTURE_CONCURRENCY: optional(wholeNumber(1, 64)),
  TEXTURE_QUEUE_SIZE: optional(wholeNumber(0, 100_000)),
  TEXTURE_TIMEOUT_SECONDS: optional(wholeNumber(1, 3600)),
  TEXTURE_REQUESTS_PER_MINUTE: optional(wholeNumber(1, 1_000_000)),
  HARVESTER_CONFIG: optional(z.string().min(1)),
  AUDITOR_WALLETS: optional(
    z
      .string()
      .transform((value) =>
        value
          .split(',')
          .map((address) => address.trim())
          .filter((address) => address.length > 0),
      )
      .refine(
        (addresses) =>
          addresses.every((a) => /^(0x[0-9a-fA-F]{40}|[1-9A-HJ-NP-Za-km-z]{46,48})$/.test(a)),
        {
          message: 'must be wallet addresses (0x… Ethereum or SS58 Polkadot), separated by commas',
        },
      ),
  ),
  AUDIT_SEAL_KEY: optional(
    z.string().includes('PRIVATE KEY', { message: 'must be a PEM private key' }),
  ),
  AUDIT_SEAL_KEY_FILE: optional(z.string().min(1)),
  AUDIT_SEAL_INTERVAL_SECONDS: optional(wholeNumber(0, 31_536_000)),
  AUDIT_ON_MISMATCH: optional(z.enum(['refuse', 'warn'])),
  CHAINS: optional(z.string().min(1)),
  READY_CHAIN_STATES: optional(
    z
      .string()
      .transform((v) => (v.trim() === 'none' ? [] : v.split(',').map((s) => s.trim())))
      .pipe(
        z.array(z.enum(CHAIN_STATES), {
          message: `must be none or a comma-separated list of ${CHAIN_STATES.join(', ')}`,
        }),
      ),
  ),
  KURRENTDB_URL: optional(
    urlWithScheme([
      'kurrentdb',
      'kurrentdb+discover',
      'kdb',
      'kdb+discover',
      'esdb',
      'esdb+discover',
    ]),
  ),
});

/** Keeps passwords in URLs out of error messages and logs. */
export const redact = (value: string | undefined) =>
  value?.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');

const loadChains = (file: string | undefined, json: string | undefined): ChainConfig[] => {
  const variable = file ? 'HARVESTER_CONFIG' : 'CHAINS';
  try {
    return loadChainRegistry(file ? { file } : json ? { json } : {});
  } catch (error) {
    if (error instanceof ChainConfigError) throw new ConfigError(variable, error.message);
    throw new ConfigError(variable, `cannot be read: ${(error as Error).message}`);
  }
};

/** Reads the configuration, or throws a ConfigError naming the first variable that is wrong. */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  const parsed = Environment.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(
      variable,
      `${issue?.message ?? 'is invalid'} (got ${JSON.stringify(redact(env[variable]))})`,
    );
  }
  const e = parsed.data;
  const dataDir = resolve(e.DATA_DIR ?? 'data');
  return {
    chains: loadChains(e.HARVESTER_CONFIG, e.CHAINS),
    auditorWallets: e.AUDITOR_WALLETS ?? [],
    audit: {
      sealKeyPem: e.AUDIT_SEAL_KEY,
      sealKeyFile: resolve(e.AUDIT_SEAL_KEY_FILE ?? join(dataDir, 'audit-seal-key.pem')),
      sealIntervalSeconds: e.AUDIT_SEAL_INTERVAL_SECONDS ?? 3600,
      onMismatch: e.AUDIT_ON_MISMATCH ?? 'refuse',
    },
    chainRegistryFrom: e.HARVESTER_CONFIG ? 'HARVESTER_CONFIG' : e.CHAINS ? 'CHAINS' : undefined,
    readyChainStates: e.READY_CHAIN_STATES ?? DEFAULT_UNREADY_CHAIN_STATES,
    port: e.PORT ?? 4000,
    host: e.HOST ?? '0.0.0.0',
    dataDir,
    logLevel: e.LOG_LEVEL ?? 'info',
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE ?? 20,
    kurrentDbUrl: e.KURRENTDB_URL,
    auth: {
      jwtSecret: e.JWT_SECRET,
      tokenTtlSeconds: e.TOKEN_TTL_SECONDS ?? 7 * 24 * 3600,
      challengeTtlSeconds: e.CHALLENGE_TTL_SECONDS ?? 300,
      signInUri: e.SIGN_IN_URI ?? `http://localhost:${e.PORT ?? 4000}`,
      signInChainId: e.SIGN_IN_CHAIN_ID ?? 1,
      guestInactiveSeconds: e.GUEST_INACTIVE_SECONDS ?? 3600,
    },
    posbus: {
      tickHz: e.POSBUS_TICK_HZ ?? 10,
      resumeBufferEvents: e.POSBUS_RESUME_BUFFER_EVENTS ?? 20_000,
      resumeBufferBytes: e.POSBUS_RESUME_BUFFER_BYTES ?? 32 * MiB,
      resumeBufferSeconds: e.POSBUS_RESUME_BUFFER_SECONDS ?? 600,
      largeEventBytes: e.POSBUS_LARGE_EVENT_BYTES ?? 16 * 1024,
      cellSize: e.POSBUS_CELL_SIZE ?? 32,
      visibleCap: e.POSBUS_VISIBLE_CAP ?? 100,
      natsUrl: e.NATS_URL,
      cluster: e.POSBUS_CLUSTER ?? 'odyssey',
    },
    http: {
      corsOrigins:
        !e.CORS_ORIGINS || e.CORS_ORIGINS === '*'
          ? '*'
          : e.CORS_ORIGINS.split(',').map((origin) => origin.trim()),
      bodyLimitBytes: e.REQUEST_BODY_LIMIT_BYTES ?? 256 * 1024,
      signInPerMinute: e.RATE_LIMIT_SIGN_IN_PER_MINUTE ?? 30,
      writesPerMinute: e.RATE_LIMIT_WRITES_PER_MINUTE ?? 600,
      readWaitMs: e.READ_WAIT_MS ?? 5000,
      trustProxyHops: e.TRUST_PROXY_HOPS ?? 0,
    },
    blobs: blobConfig(e, dataDir),
    assetLimits: {
      image: e.ASSET_MAX_IMAGE_BYTES ?? 32 * MiB,
      model: e.ASSET_MAX_MODEL_BYTES ?? 256 * MiB,
      audio: e.ASSET_MAX_AUDIO_BYTES ?? 64 * MiB,
      video: e.ASSET_MAX_VIDEO_BYTES ?? 1024 * MiB,
    },
    images: {
      maxSidePx: e.IMAGE_MAX_SIDE_PX ?? DEFAULT_IMAGE_LIMITS.maxSidePx,
      maxDecodedBytes: e.IMAGE_MAX_DECODED_BYTES ?? DEFAULT_IMAGE_LIMITS.maxDecodedBytes,
    },
    textures: {
      concurrency: e.TEXTURE_CONCURRENCY ?? 2,
      queueSize: e.TEXTURE_QUEUE_SIZE ?? 32,
      timeoutSeconds: e.TEXTURE_TIMEOUT_SECONDS ?? 30,
      requestsPerMinute: e.TEXTURE_REQUESTS_PER_MINUTE ?? 600,
    },
  };
};

const MiB = 1024 * 1024;

const blobConfig = (e: z.output<typeof Environment>, dataDir: string): BlobConfig => {
  const dir = resolve(e.BLOB_DIR ?? join(dataDir, 'blobs'));
  if (e.BLOB_STORE !== 's3') return { store: 'disk', dir };
  if (!e.S3_BUCKET) throw new ConfigError('S3_BUCKET', 'must be set when BLOB_STORE is s3');
  if (!e.S3_ACCESS_KEY_ID !== !e.S3_SECRET_ACCESS_KEY) {
    const missing = e.S3_ACCESS_KEY_ID ? 'S3_SECRET_ACCESS_KEY' : 'S3_ACCESS_KEY_ID';
    throw new ConfigError(missing, 'must be set with the other half of the S3 key');
  }
  return {
    store: 's3',
    stagingDir: join(dir, 'staging'),
    endpoint: e.S3_ENDPOINT,
    bucket: e.S3_BUCKET,
    region: e.S3_REGION ?? 'us-east-1',
    prefix: e.S3_PREFIX ?? '',
    accessKeyId: e.S3_ACCESS_KEY_ID,
    secretAccessKey: e.S3_SECRET_ACCESS_KEY,
    forcePathStyle: e.S3_FORCE_PATH_STYLE === 'true',
  };
};
