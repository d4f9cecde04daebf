import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { Abono, startAbono } from '../../src/abono';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { createApiKey } from '../../src/db/api-keys';
import { failingSteps } from './fault-injection';

export interface TestApp {
  abono: Abono;
  url: string;
  taskQueue: string;
  keys: { admin: string; operator: string; viewer: string };
  stop(): Promise<void>;
}

/** A fresh copy of the migrated template database, so a test sees only its own rows. */
export async function freshDatabase(): Promise<string> {
  const template = process.env.TEST_TEMPLATE_DB;
  if (!template) return process.env.DATABASE_URL!; // an externally named database: shared
  const admin = new Client({ connectionString: process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  const name = `${template.replace(/_tpl$/, '')}_${randomUUID().slice(0, 8)}`;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
        break;
      } catch (err) {
        // Two copies at once can collide on the template's lock; try again shortly.
        if (attempt >= 10) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    await admin.end();
  }
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Starts abono as `npm start` does (migrations, worker, API on a free port) against the
 * suite's PostgreSQL and Temporal dev server, on a task queue of its own.
 */
export async function startTestApp(overrides: Record<string, string> = {}, faults?: string[]): Promise<TestApp> {
  const taskQueue = overrides.TEMPORAL_TASK_QUEUE ?? `test-${randomUUID()}`;
  // The SDK's metrics exporter is off unless a test asks for it: the SDK rebinds the port it first picked whenever it
  // restarts its runtime (after a test's app stops), and another test process may hold that port by then.
  const config = loadConfig({ ...process.env, PORT: '0', TEMPORAL_TASK_QUEUE: taskQueue, PAYMENT_WAIT_MS: '10000', RECALC_SCHEDULE_ENABLED: 'false', DATABASE_POOL_SIZE: '5', TEMPORAL_SDK_METRICS_PORT: 'off', ...overrides });
  const abono = await startAbono({
    config,
    log: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    databaseUrl: overrides.DATABASE_URL ?? (await freshDatabase()),
    temporalAddress: overrides.TEMPORAL_ADDRESS ?? process.env.TEMPORAL_ADDRESS!,
    temporalUiUrl: 'http://127.0.0.1:8233',
    wrapActivities: faults ? failingSteps(faults) : undefined,
  });
  const keys = {
    admin: (await createApiKey(abono.ds, 'test-admin', 'admin')).key,
    operator: (await createApiKey(abono.ds, 'test-operator', 'operator')).key,
    viewer: (await createApiKey(abono.ds, 'test-viewer', 'viewer')).key,
  };
  return { abono, url: abono.apiUrl!, taskQueue, keys, stop: () => abono.stop() };
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A real HTTP request to the running API. */
export async function call(
  app: Pick<TestApp, 'url'>,
  method: string,
  path: string,
  opts: { key?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  let body: string | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(app.url + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

export const creditBody = (over: Record<string, unknown> = {}) => ({
  clientId: 'client-1',
  principal: '1000.00',
  interestRate: '0.05',
  installments: 4,
  startDate: '2026-01-01',
  ...over,
});

export async function createCredit(app: TestApp, over: Record<string, unknown> = {}): Promise<any> {
  const res = await call(app, 'POST', '/v1/credits', { key: app.keys.admin, body: creditBody(over) });
  if (res.status !== 201) throw new Error(`credit creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function pay(app: TestApp, creditId: string, amount: string, extra: Record<string, unknown> = {}, key = randomUUID()) {
  return call(app, 'POST', '/v1/payments', {
    key: app.keys.operator,
    headers: { 'idempotency-key': key },
    body: { creditId, amount, paymentDate: '2026-02-01', ...extra },
  });
}
