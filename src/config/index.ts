import { availableParallelism } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { RECALCULATION_MODES, RECALCULATION_SCOPES, RecalculationMode, RecalculationScope } from '../domain/status';
import { type CodecKey, parseCodecKeys } from '../security/codec-keys';
import { loadTemporalTls, type TemporalTls } from '../security/temporal-tls';

/**
 * Every setting abono reads, in one typed place. Read from the environment and
 * validated at start: a bad value stops the process with one line naming it.
 */
const url = (protocols: string[]) =>
  z.string().refine((v) => {
    try {
      return protocols.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `must be a URL starting with ${protocols.map((p) => p + '//').join(' or ')}`);

/** Payments and reversals (sub-second work). */
const DEFAULT_TASK_QUEUE = 'abono-payments';
/** Batch work (recalculation chunks): minutes per task, on workers and slots of its own. */
const DEFAULT_BATCH_TASK_QUEUE = 'abono-batches';

const hostPort = z.string().regex(/^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:7233');

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  PUBLIC_URL: z.string().optional(),
  DATA_DIR: z.string().default('.data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TIME_ZONE: z
    .string()
    .default('UTC')
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en-CA', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'must be an IANA time zone such as America/Mexico_City'),
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  // Security (README: Security): the schema owner's connection; migrations run as it, abono as DATABASE_URL's (runtime) role.
  DATABASE_OWNER_URL: url(['postgres:', 'postgresql:']).optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(20),
  EMBEDDED_POSTGRES_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  TEMPORAL_ADDRESS: hostPort.optional(),
  // Security (README: Security): mTLS to Temporal; files, read and checked at start.
  TEMPORAL_TLS_CERT: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS_CA: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUE),
  TEMPORAL_BATCH_TASK_QUEUE: z.string().min(1).optional(),
  TEMPORAL_CLI_PATH: z.string().optional(),
  TEMPORAL_DEV_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  TEMPORAL_UI_URL: z.string().optional(),
  PAYMENT_WAIT_MS: z.coerce.number().int().min(0).max(60000).default(5000),
  ADMIN_API_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  RECALC_SCHEDULE_CRON: z.string().default('0 2 * * *'),
  RECALC_SCHEDULE_TIME_ZONE: z.string().optional(),
  RECALC_SCHEDULE_ENABLED: bool.default(true),
  RECALC_SCHEDULE_ID: z.string().min(1).default('abono-nightly-recalculation'),
  RECALC_SCHEDULE_MODE: z.enum(RECALCULATION_MODES).default('CORRECT'),
  RECALC_SCHEDULE_SCOPE: z.enum(RECALCULATION_SCOPES).default('INCREMENTAL'),
  RECALC_FULL_EVERY_DAYS: z.coerce.number().int().min(1).max(366).default(7),
  RECALC_FULL_SCHEDULE_ENABLED: bool.default(true),
  RECALC_FULL_SCHEDULE_CRON: z.string().default('0 3 * * 0'),
  RECALC_FULL_SCHEDULE_ID: z.string().min(1).default('abono-weekly-full-recalculation'),
  // Credits per chunk, one activity each (read STATEMENT_CREDITS at a time): Temporal's cost per activity stays small.
  RECALC_CHUNK_SIZE: z.coerce.number().int().min(1).max(100000).default(10000),
  RECALC_PARALLELISM: z.coerce.number().int().min(1).max(64).default(4),
  // Threads that check chunks in each worker process (0: on the activity's own thread); default one per core.
  RECALC_THREADS: z.coerce.number().int().min(0).max(64).optional(),
  ALERT_WEBHOOK_URL: url(['http:', 'https:']).optional(),
  // Payment files (README: Payment files): the largest file taken, and how its batch walks it.
  PAYMENT_FILE_MAX_LINES: z.coerce.number().int().min(1).max(1_000_000).default(1_000_000),
  PAYMENT_FILE_MAX_BYTES: z.coerce.number().int().min(1024).max(2_000_000_000).default(256 * 1024 * 1024),
  PAYMENT_FILE_CHUNK_LINES: z.coerce.number().int().min(1).max(50_000).default(2000),
  PAYMENT_FILE_PARALLELISM: z.coerce.number().int().min(1).max(16).default(2),
  // Legacy imports (README: Moving from your current system): legacy credits per chunk, chunks at once.
  IMPORT_CHUNK_CREDITS: z.coerce.number().int().min(1).max(50_000).default(1000),
  IMPORT_PARALLELISM: z.coerce.number().int().min(1).max(16).default(2),
  // Security (README: Security): request limits, CORS, key cache, database statement timeout.
  // Per role (per key) and per address without a valid key, in requests a second; 0 = not limited. RATE_LIMIT_PER_MINUTE, when set, is one limit per window for all.
  RATE_LIMIT_ADMIN_PER_SECOND: z.coerce.number().int().min(0).max(1_000_000).default(200),
  RATE_LIMIT_OPERATOR_PER_SECOND: z.coerce.number().int().min(0).max(1_000_000).default(200),
  RATE_LIMIT_VIEWER_PER_SECOND: z.coerce.number().int().min(0).max(1_000_000).default(50),
  RATE_LIMIT_ANONYMOUS_PER_SECOND: z.coerce.number().int().min(0).max(1_000_000).default(10),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).optional(),
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(100).max(3_600_000).default(1000),
  CORS_ORIGINS: z
    .string()
    .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean))
    .refine((list) => list.every((o) => o === '*' || /^https?:\/\/[^/\s]+$/.test(o)), 'must be a comma-separated list of origins such as https://app.example.com')
    .optional(),
  TRUST_PROXY: z.string().optional(),
  API_KEY_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(5000),
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  // Security (README: Security): Temporal payload encryption keys, `id:base64,…` (first encrypts); origins allowed to call /codec/* (default: the Temporal UI's).
  PAYLOAD_CODEC_KEYS: z
    .string()
    .transform((v, ctx) => {
      try {
        return parseCodecKeys(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    })
    .optional(),
  CODEC_CORS_ORIGINS: z
    .string()
    .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean))
    .optional(),
  RUN_WORKER: bool.default(true),
  RUN_API: bool.default(true),
  // Observability (README: Operations): the SDK core's Prometheus port (0 = a free one, off = none); the worker process's /metrics port.
  TEMPORAL_SDK_METRICS_PORT: z.union([z.literal('off'), z.coerce.number().int().min(0).max(65535)], { error: 'must be a port (0 = a free one) or off' }).default(0),
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  // Security (README: Security): where the metrics listener with the business figures binds; the token that adds them to the API port's /metrics.
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  METRICS_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
});

export type Env = z.infer<typeof schema>;

export interface Config {
  env: Env['NODE_ENV'];
  http: { host: string; port: number; publicUrl?: string };
  dataDir: string;
  logLevel: Env['LOG_LEVEL'];
  timeZone: string;
  database: { url?: string; ownerUrl?: string; poolSize: number; embeddedPort: number };
  temporal: {
    address?: string;
    namespace: string;
    /** Payments and reversals. */
    taskQueue: string;
    /** Batch work: recalculation chunks (and later, payment files and imports). */
    batchTaskQueue: string;
    cliPath?: string;
    devPort: number;
    uiPort: number;
    uiUrl?: string;
    /** mTLS to Temporal (src/security/temporal-tls.ts); undefined = a plain connection. */
    tls?: TemporalTls;
    /** Payload encryption keys (first encrypts, all decrypt); none = payloads in clear. */
    codecKeys?: CodecKey[];
    /** Origins allowed to call /codec/decode and /codec/encode (the Temporal UI); default its URL. */
    codecCorsOrigins?: string[];
  };
  payments: { waitMs: number };
  recalculation: {
    scheduleCron: string;
    scheduleTimeZone: string;
    scheduleEnabled: boolean;
    scheduleId: string;
    scheduleMode: RecalculationMode;
    /** The nightly batch's scope (INCREMENTAL by default). */
    scheduleScope: RecalculationScope;
    /** INCREMENTAL batches prove every credit at least this often. */
    fullEveryDays: number;
    /** The weekly FULL batch (same mode and time zone as the nightly one). */
    fullSchedule: { enabled: boolean; cron: string; id: string };
    chunkSize: number;
    parallelism: number;
    threads: number;
  };
  alertWebhookUrl?: string;
  paymentFiles: { maxLines: number; maxBytes: number; chunkLines: number; parallelism: number };
  imports: { chunkCredits: number; parallelism: number };
  security: {
    /** Requests per window: per API key by its role; per client address without a valid key (0: not limited). */
    rateLimits: { admin: number; operator: number; viewer: number; anonymous: number };
    rateLimitWindowMs: number;
    /** Origins allowed by CORS; none (the default) sends no CORS headers at all. */
    corsOrigins: string[];
    /** Express's `trust proxy`: how the client address is read behind a load balancer. */
    trustProxy: boolean | number | string;
    /** How long an API key lookup is reused in this process (revocation takes effect within it). */
    apiKeyCacheMs: number;
    /** PostgreSQL statement_timeout for every connection; 0 = none. */
    statementTimeoutMs: number;
    /** Bearer token that adds the business figures to the API port's /metrics (src/observability/metrics-exposure.ts). */
    metricsToken?: string;
  };
  adminApiKey?: string;
  runWorker: boolean;
  runApi: boolean;
  observability: { sdkMetricsPort: number | 'off'; metricsPort?: number; metricsHost: string };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; throws ConfigError with one line per bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(
    Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== '')),
  );
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  let tls: TemporalTls | undefined;
  try {
    tls = loadTemporalTls({ certPath: e.TEMPORAL_TLS_CERT, keyPath: e.TEMPORAL_TLS_KEY, caPath: e.TEMPORAL_TLS_CA, serverName: e.TEMPORAL_TLS_SERVER_NAME });
  } catch (err) {
    throw new ConfigError(`invalid configuration: ${(err as Error).message}`);
  }
  return {
    env: e.NODE_ENV,
    http: { host: e.HOST, port: e.PORT, publicUrl: e.PUBLIC_URL },
    dataDir: path.resolve(e.DATA_DIR),
    logLevel: e.LOG_LEVEL,
    timeZone: e.TIME_ZONE,
    database: { url: e.DATABASE_URL, ownerUrl: e.DATABASE_OWNER_URL, poolSize: e.DATABASE_POOL_SIZE, embeddedPort: e.EMBEDDED_POSTGRES_PORT },
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      // A named payments queue gets its own batch queue beside it, so two installations never share one.
      batchTaskQueue: e.TEMPORAL_BATCH_TASK_QUEUE ?? (e.TEMPORAL_TASK_QUEUE === DEFAULT_TASK_QUEUE ? DEFAULT_BATCH_TASK_QUEUE : `${e.TEMPORAL_TASK_QUEUE}-batches`),
      cliPath: e.TEMPORAL_CLI_PATH,
      devPort: e.TEMPORAL_DEV_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
      uiUrl: e.TEMPORAL_UI_URL,
      tls,
      codecKeys: e.PAYLOAD_CODEC_KEYS,
      codecCorsOrigins: e.CODEC_CORS_ORIGINS,
    },
    payments: { waitMs: e.PAYMENT_WAIT_MS },
    recalculation: {
      scheduleCron: e.RECALC_SCHEDULE_CRON,
      scheduleTimeZone: e.RECALC_SCHEDULE_TIME_ZONE ?? e.TIME_ZONE,
      scheduleEnabled: e.RECALC_SCHEDULE_ENABLED,
      scheduleId: e.RECALC_SCHEDULE_ID,
      scheduleMode: e.RECALC_SCHEDULE_MODE,
      scheduleScope: e.RECALC_SCHEDULE_SCOPE,
      fullEveryDays: e.RECALC_FULL_EVERY_DAYS,
      fullSchedule: { enabled: e.RECALC_FULL_SCHEDULE_ENABLED, cron: e.RECALC_FULL_SCHEDULE_CRON, id: e.RECALC_FULL_SCHEDULE_ID },
      chunkSize: e.RECALC_CHUNK_SIZE,
      parallelism: e.RECALC_PARALLELISM,
      threads: e.RECALC_THREADS ?? availableParallelism(),
    },
    alertWebhookUrl: e.ALERT_WEBHOOK_URL,
    paymentFiles: { maxLines: e.PAYMENT_FILE_MAX_LINES, maxBytes: e.PAYMENT_FILE_MAX_BYTES, chunkLines: e.PAYMENT_FILE_CHUNK_LINES, parallelism: e.PAYMENT_FILE_PARALLELISM },
    imports: { chunkCredits: e.IMPORT_CHUNK_CREDITS, parallelism: e.IMPORT_PARALLELISM },
    security: {
      rateLimits: rateLimitsOf(e),
      rateLimitWindowMs: e.RATE_LIMIT_WINDOW_MS,
      corsOrigins: e.CORS_ORIGINS ?? [],
      trustProxy: parseTrustProxy(e.TRUST_PROXY),
      apiKeyCacheMs: e.API_KEY_CACHE_MS,
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
      metricsToken: e.METRICS_TOKEN,
    },
    adminApiKey: e.ADMIN_API_KEY,
    runWorker: e.RUN_WORKER,
    runApi: e.RUN_API,
    observability: { sdkMetricsPort: e.TEMPORAL_SDK_METRICS_PORT, metricsPort: e.METRICS_PORT, metricsHost: e.METRICS_HOST },
  };
}

/** TRUST_PROXY: unset/false = the socket's address; true; a hop count; or addresses/subnets (Express syntax). */
function parseTrustProxy(v: string | undefined): boolean | number | string {
  if (v === undefined || v === 'false' || v === '0') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  return v;
}

/** The per-second settings as counts per window; RATE_LIMIT_PER_MINUTE, when set, is one count for every class. */
function rateLimitsOf(e: Env): Config['security']['rateLimits'] {
  const perWindow = (perSecond: number) => (perSecond === 0 ? 0 : Math.max(1, Math.round((perSecond * e.RATE_LIMIT_WINDOW_MS) / 1000)));
  if (e.RATE_LIMIT_PER_MINUTE !== undefined) {
    const all = e.RATE_LIMIT_PER_MINUTE;
    return { admin: all, operator: all, viewer: all, anonymous: all };
  }
  return {
    admin: perWindow(e.RATE_LIMIT_ADMIN_PER_SECOND),
    operator: perWindow(e.RATE_LIMIT_OPERATOR_PER_SECOND),
    viewer: perWindow(e.RATE_LIMIT_VIEWER_PER_SECOND),
    anonymous: perWindow(e.RATE_LIMIT_ANONYMOUS_PER_SECOND),
  };
}
