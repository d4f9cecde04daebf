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
import { countApiKeys, createApiKey } from './services/api-keys';
import { createWorker, installRuntime } from './worker/worker';
import { ensureRecalculationSchedule, scheduledInput, scheduledWorkflowId } from './services/recalculation-runs';
import { recordStart } from './security/recorded-starts';
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
  /** Test configuration only: activity steps that fail for good. */
  faults?: ReadonlySet<string>;
}

export interface Abono {
  ds: DataSource;
  client: Client;
  worker?: Worker;
  server?: http.Server;
  apiUrl?: string;
  /** Printed once when the first start created the admin key. */
  bootstrapAdminKey?: string;
  stop(): Promise<void>;
}

/**
 * Starts abono the way `npm start` does: migrations, then the worker and the API against the
 * given PostgreSQL and Temporal. stop() drains the worker, closes the server and connections.
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

  // Security: the schedule's request is recorded before the schedule can start a run.
  if (config.recalculation.scheduleEnabled) await recordStart(ds, scheduledWorkflowId(config), 'schedule', scheduledInput(config));
  const schedule = await ensureRecalculationSchedule(client, config);
  log.info({ scheduleId: config.recalculation.scheduleId, cron: config.recalculation.scheduleCron, timeZone: config.recalculation.scheduleTimeZone, schedule }, 'nightly recalculation schedule');

  let worker: Worker | undefined;
  let nativeConnection: NativeConnection | undefined;
  let workerRun: Promise<void> | undefined;
  if (config.runWorker) {
    await installRuntime(log, { sdkMetricsPort: config.observability.sdkMetricsPort });
    nativeConnection = await NativeConnection.connect({ address: opts.temporalAddress, tls: config.temporal.tls });
    worker = await createWorker({
      connection: nativeConnection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      ds,
      timeZone: config.timeZone,
      faults: opts.faults,
      log,
      alertWebhookUrl: config.alertWebhookUrl,
      recalculationThreads: config.recalculation.threads,
      dataConverter,
    });
    workerRun = worker.run().catch((err) => log.error({ err }, 'worker stopped with an error'));
  }

  let server: http.Server | undefined;
  let keyListener: KeyRevocationListener | undefined;
  let metricsServer: http.Server | undefined;
  let apiUrl: string | undefined;
  if (config.runApi) {
    const app = createApp({
      ds,
      client,
      log,
      timeZone: config.timeZone,
      security: config.security,
      codec: { keys: config.temporal.codecKeys, corsOrigins: config.temporal.codecCorsOrigins ?? (opts.temporalUiUrl ? [new URL(opts.temporalUiUrl).origin] : []) },
      payments: {
        ds,
        client,
        taskQueue: config.temporal.taskQueue,
        waitMs: config.payments.waitMs,
        timeZone: config.timeZone,
        temporalUiUrl: opts.temporalUiUrl,
        namespace: config.temporal.namespace,
      },
      recalculations: {
        ds,
        client,
        taskQueue: config.temporal.taskQueue,
        defaults: { chunkSize: config.recalculation.chunkSize, parallelism: config.recalculation.parallelism },
        temporalUiUrl: opts.temporalUiUrl,
        namespace: config.temporal.namespace,
      },
    });
    // Security: revocations reach this process's key cache at once (src/security/key-revocation.ts).
    keyListener = await listenForKeyChanges(opts.databaseUrl, ds, { cacheMs: config.security.apiKeyCacheMs, log });
    server = http.createServer(app);
    // Idle keep-alive connections stay open longer than a client or load balancer keeps them
    // (Node's 5 s default races clients that reuse a socket just as the server closes it).
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    answerClientErrors(server);
    await new Promise<void>((resolve) => server!.listen(config.http.port, config.http.host, resolve));
    // Security: business figures only on their own listener (loopback by default); the worker-only process starts its own.
    if (config.observability.metricsPort) metricsServer = await startMetricsServer(config.observability.metricsHost, config.observability.metricsPort);
    const addr = server.address() as AddressInfo;
    apiUrl = `http://${addr.address}:${addr.port}`;
  }

  // Last, once everything else is up, so that the key is printed by the start that made it.
  const bootstrapAdminKey = await withStartupLock(ds, async () => {
    if ((await countApiKeys(ds)) > 0) return undefined;
    const created = await createApiKey(ds, 'bootstrap-admin', 'admin', config.adminApiKey);
    return config.adminApiKey ? undefined : created.key;
  });

  return {
    ds,
    client,
    worker,
    server,
    apiUrl,
    bootstrapAdminKey,
    async stop() {
      if (server) {
        server.closeIdleConnections();
        await new Promise<void>((resolve) => server!.close(() => resolve()));
      }
      await keyListener?.stop();
      await new Promise((resolve) => (metricsServer ? metricsServer.close(resolve) : resolve(undefined)));
      if (worker && worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun;
      await nativeConnection?.close();
      await connection.close();
      await ds.destroy();
    },
  };
}
