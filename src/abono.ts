import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection, type DataConverter } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { DataSource } from 'typeorm';
import { createApp } from './api/app';
import { answerClientErrors } from './api/security';
import type { Config } from './config';
import { createDataSource, runMigrations } from './db/data-source';
import type { Logger } from './logger';
import { countApiKeys, createApiKey } from './db/api-keys';
import { ActivityMap, createWorkers, installRuntime, Workers } from './worker/worker';
import { batchSchedules, ensureRecalculationSchedules, scheduledInput, scheduledWorkflowId } from './client/recalculations';
import { recordStart } from './db/recorded-starts';
import { type KeyRevocationListener, listenForKeyChanges } from './security/key-revocation';
import { startMetricsServer } from './observability/metrics';
import { migrateAsOwner } from './security/db-roles';
import { dataConverterFor } from './security/payload-codec';

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
  /** The schema owner's connection (DATABASE_OWNER_URL, or the embedded server's owner): migrations run as it, abono as databaseUrl's role. */
  ownerDatabaseUrl?: string;
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
async function startWorkers(opts: AbonoOptions, ds: DataSource, dataConverter?: DataConverter) {
  const { config, log } = opts;
  await installRuntime(log, { sdkMetricsPort: config.observability.sdkMetricsPort });
  // Security: mTLS to Temporal when configured (src/security/temporal-tls.ts).
  const connection = await NativeConnection.connect({ address: opts.temporalAddress, tls: config.temporal.tls });
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
    dataConverter,
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

/** The API half: the Express app on an HTTP server, listening; the key revocation listener and the metrics listener beside it. */
async function startApi(opts: AbonoOptions, ds: DataSource, client: Client) {
  const { config, log } = opts;
  const ui = { temporalUiUrl: opts.temporalUiUrl, namespace: config.temporal.namespace };
  const app = createApp({
    ds,
    client,
    log,
    timeZone: config.timeZone,
    security: config.security,
    codec: { keys: config.temporal.codecKeys, corsOrigins: config.temporal.codecCorsOrigins ?? (opts.temporalUiUrl ? [new URL(opts.temporalUiUrl).origin] : []) },
    payments: { ds, client, taskQueue: config.temporal.taskQueue, waitMs: config.payments.waitMs, timeZone: config.timeZone, ...ui },
    recalculations: {
      ds,
      client,
      taskQueue: config.temporal.batchTaskQueue,
      defaults: { chunkSize: config.recalculation.chunkSize, parallelism: config.recalculation.parallelism, fullEveryDays: config.recalculation.fullEveryDays },
      ...ui,
    },
    paymentBatches: { ds, client, taskQueue: config.temporal.batchTaskQueue, ...config.paymentFiles, ...ui },
    imports: { ds, client, taskQueue: config.temporal.batchTaskQueue, ...config.imports, ...ui },
  });
  // Security: revocations reach this process's key cache at once (src/security/key-revocation.ts).
  const keyListener: KeyRevocationListener = await listenForKeyChanges(opts.databaseUrl, ds, { cacheMs: config.security.apiKeyCacheMs, log });
  const server = http.createServer(app);
  // Idle keep-alive connections stay open longer than a client or load balancer keeps them
  // (Node's 5 s default races clients that reuse a socket just as the server closes it).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  answerClientErrors(server);
  await new Promise<void>((resolve) => server.listen(config.http.port, config.http.host, resolve));
  // Security: business figures only on their own listener (loopback by default); the worker-only process starts its own.
  const metricsServer = config.observability.metricsPort ? await startMetricsServer(config.observability.metricsHost, config.observability.metricsPort) : undefined;
  const addr = server.address() as AddressInfo;
  return {
    server,
    apiUrl: `http://${addr.address}:${addr.port}`,
    /** Closes the server (after its connections), then the revocation and metrics listeners. */
    async stop() {
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await keyListener.stop();
      await new Promise((resolve) => (metricsServer ? metricsServer.close(resolve) : resolve(undefined)));
    },
  };
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
  // Security: with an owner URL, migrations (and the runtime role's grants) run as the owner (src/security/db-roles.ts).
  const ownerUrl = opts.ownerDatabaseUrl ?? config.database.ownerUrl;
  const ran = await withStartupLock(ds, () => (ownerUrl ? migrateAsOwner(ownerUrl, opts.databaseUrl) : runMigrations(ds)));
  if (ran.length) log.info({ migrations: ran }, 'migrations applied');

  // Security: mTLS to Temporal when configured (src/security/temporal-tls.ts).
  const connection = await Connection.connect({ address: opts.temporalAddress, tls: config.temporal.tls });
  // Security: payloads encrypted on their way to Temporal (src/security/payload-codec.ts).
  const dataConverter = dataConverterFor(config.temporal.codecKeys);
  const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter });

  // Security: each schedule's request is recorded before the schedule can start a run.
  for (const b of batchSchedules(config)) if (b.enabled) await recordStart(ds, scheduledWorkflowId(b), 'schedule', scheduledInput(config, b));
  const schedules = await ensureRecalculationSchedules(client, config);
  log.info({ schedules, timeZone: config.recalculation.scheduleTimeZone }, 'recalculation schedules (nightly, weekly full)');

  const workerHalf = config.runWorker ? await startWorkers(opts, ds, dataConverter) : undefined;
  const apiHalf = config.runApi ? await startApi(opts, ds, client) : undefined;

  // Last, once everything else is up, so that the key is printed by the start that made it.
  const bootstrapAdminKey = await withStartupLock(ds, async () => {
    if ((await countApiKeys(ds)) > 0) return undefined;
    const created = await createApiKey(ds, 'bootstrap-admin', 'admin', config.adminApiKey);
    return config.adminApiKey ? undefined : created.key;
  });

  return {
    ds,
    client,
    worker: workerHalf?.workers.payments,
    batchWorker: workerHalf?.workers.batches,
    server: apiHalf?.server,
    apiUrl: apiHalf?.apiUrl,
    bootstrapAdminKey,
    async stop() {
      await apiHalf?.stop();
      await workerHalf?.stop();
      await connection.close();
      await ds.destroy();
    },
  };
}
