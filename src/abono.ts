import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { DataSource } from 'typeorm';
import { createApp } from './api/app';
import { answerClientErrors } from './api/security';
import type { Config } from './config';
import { createDataSource, runMigrations } from './db/data-source';
import type { Logger } from './logger';
import { countApiKeys, createApiKey } from './db/api-keys';
import { ActivityMap, createWorkers, installRuntime, Workers } from './worker/worker';
import { ensureRecalculationSchedules } from './client/recalculations';

const STARTUP_LOCK = 74_201_311; // any constant shared by every abono process

/** A session-level advisory lock on one pooled connection, held while `fn` runs. */
async function withStartupLock<T>(ds: DataSource, fn: () => Promise<T>): Promise<T> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [STARTUP_LOCK]);
    return await fn();
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [STARTUP_LOCK]).catch(() => undefined);
    await runner.release();
  }
}

export interface AbonoOptions {
  config: Config;
  log: Logger;
  /** Where PostgreSQL and Temporal are (resolved by the caller: configured or embedded). */
  databaseUrl: string;
  temporalAddress: string;
  temporalUiUrl?: string;
  /** Tests only: wraps the worker's activities before they are registered (fault injection). */
  wrapActivities?: <T extends ActivityMap>(activities: T) => T;
}

export interface Abono {
  ds: DataSource;
  client: Client;
  /** The payments worker (payments and reversals). */
  worker?: Worker;
  /** The batch worker (recalculations), in the same process. */
  batchWorker?: Worker;
  server?: http.Server;
  apiUrl?: string;
  /** Printed once when the first start created the admin key. */
  bootstrapAdminKey?: string;
  stop(): Promise<void>;
}

/** The worker process half: two workers (payments, batches) on one native connection. */
async function startWorkers(opts: AbonoOptions, ds: DataSource) {
  const { config, log } = opts;
  await installRuntime(log, { sdkMetricsPort: config.observability.sdkMetricsPort });
  const connection = await NativeConnection.connect({ address: opts.temporalAddress });
  const workers: Workers = await createWorkers({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    batchTaskQueue: config.temporal.batchTaskQueue,
    ds,
    timeZone: config.timeZone,
    wrapActivities: opts.wrapActivities,
    log,
    alertWebhookUrl: config.alertWebhookUrl,
    recalculationThreads: config.recalculation.threads,
  });
  const run = (w: Worker, queue: string) => w.run().catch((err) => log.error({ err, taskQueue: queue }, 'worker stopped with an error'));
  const running = Promise.all([run(workers.payments, config.temporal.taskQueue), run(workers.batches, config.temporal.batchTaskQueue)]);
  return {
    workers,
    /** Drains both workers (in-flight activities get their grace time), then closes the connection. */
    async stop() {
      for (const w of [workers.payments, workers.batches]) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
      await connection.close();
    },
  };
}

/** The API half: the Express app on an HTTP server, listening. */
async function startApi(opts: AbonoOptions, ds: DataSource, client: Client): Promise<{ server: http.Server; apiUrl: string }> {
  const { config, log } = opts;
  const ui = { temporalUiUrl: opts.temporalUiUrl, namespace: config.temporal.namespace };
  const app = createApp({
    ds,
    client,
    log,
    timeZone: config.timeZone,
    security: config.security,
    payments: { ds, client, taskQueue: config.temporal.taskQueue, waitMs: config.payments.waitMs, timeZone: config.timeZone, ...ui },
    recalculations: {
      ds,
      client,
      taskQueue: config.temporal.batchTaskQueue,
      defaults: { chunkSize: config.recalculation.chunkSize, parallelism: config.recalculation.parallelism, fullEveryDays: config.recalculation.fullEveryDays },
      ...ui,
    },
    paymentBatches: { ds, client, taskQueue: config.temporal.batchTaskQueue, ...config.paymentFiles, ...ui },
  });
  const server = http.createServer(app);
  // Idle keep-alive connections stay open longer than a client or load balancer keeps them
  // (Node's 5 s default races clients that reuse a socket just as the server closes it).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  answerClientErrors(server);
  await new Promise<void>((resolve) => server.listen(config.http.port, config.http.host, resolve));
  const addr = server.address() as AddressInfo;
  return { server, apiUrl: `http://${addr.address}:${addr.port}` };
}

/**
 * Starts abono the way `npm start` does: migrations, then the workers and the API against the
 * given PostgreSQL and Temporal. stop() drains the workers, closes the server and connections.
 */
export async function startAbono(opts: AbonoOptions): Promise<Abono> {
  const { config, log } = opts;
  const ds = createDataSource(opts.databaseUrl, config.database.poolSize, { statementTimeoutMs: config.security.statementTimeoutMs });
  await ds.initialize();
  // Several processes may start at once on an empty database: one migrates at a time.
  const ran = await withStartupLock(ds, () => runMigrations(ds));
  if (ran.length) log.info({ migrations: ran }, 'migrations applied');

  const connection = await Connection.connect({ address: opts.temporalAddress });
  const client = new Client({ connection, namespace: config.temporal.namespace });

  const schedules = await ensureRecalculationSchedules(client, config);
  log.info({ schedules, timeZone: config.recalculation.scheduleTimeZone }, 'recalculation schedules (nightly, weekly full)');

  const workerHalf = config.runWorker ? await startWorkers(opts, ds) : undefined;
  const apiHalf = config.runApi ? await startApi(opts, ds, client) : undefined;

  // Last, once everything else is up, so that the key is printed by the start that made it.
  const bootstrapAdminKey = await withStartupLock(ds, async () => {
    if ((await countApiKeys(ds)) > 0) return undefined;
    const created = await createApiKey(ds, 'bootstrap-admin', 'admin', config.adminApiKey);
    return config.adminApiKey ? undefined : created.key;
  });

  const server = apiHalf?.server;
  return {
    ds,
    client,
    worker: workerHalf?.workers.payments,
    batchWorker: workerHalf?.workers.batches,
    server,
    apiUrl: apiHalf?.apiUrl,
    bootstrapAdminKey,
    async stop() {
      if (server) {
        server.closeIdleConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      await workerHalf?.stop();
      await connection.close();
      await ds.destroy();
    },
  };
}
