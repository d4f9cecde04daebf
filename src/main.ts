// `npm start`: PostgreSQL (DATABASE_URL or embedded), Temporal (TEMPORAL_ADDRESS or the CLI's
// dev server with its UI and a SQLite file), migrations, the worker and the API.
import path from 'node:path';
import { startAbono } from './abono';
import { ConfigError, loadConfig } from './config';
import { startEmbeddedPostgres } from './embedded-postgres';
import { createLogger } from './logger';
import { startDevServer } from './temporal/dev-server';
import { installRuntime } from './worker/worker';
import { embeddedCodecKeys } from './security/payload-codec';

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`abono: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  // Before anything touches the Temporal SDK's native runtime (the dev server does).
  await installRuntime(log, { sdkMetricsPort: config.observability.sdkMetricsPort });
  const say = (msg: string) => log.info(msg);
  const stops: Array<() => Promise<unknown>> = [];
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    for (const stop of stops.reverse()) {
      await stop().catch((err) => log.error({ err }, 'error while stopping'));
    }
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  let databaseUrl = config.database.url;
  let ownerDatabaseUrl = config.database.ownerUrl;
  if (!databaseUrl) {
    const pg = await startEmbeddedPostgres(config.dataDir, config.database.embeddedPort, say);
    stops.push(pg.stop);
    databaseUrl = pg.url;
    ownerDatabaseUrl = pg.ownerUrl; // Security: migrations as the owner, abono as the runtime role
  }

  let temporalAddress = config.temporal.address;
  let temporalUiUrl = config.temporal.uiUrl;
  if (!temporalAddress) {
    // Security: the embedded Temporal's payloads are encrypted too (a key kept in the data folder).
    config.temporal.codecKeys ??= embeddedCodecKeys(config.dataDir);
    const dev = await startDevServer({
      cliPath: config.temporal.cliPath,
      dbFilename: path.join(config.dataDir, 'temporal.sqlite'),
      namespace: config.temporal.namespace,
      port: config.temporal.devPort,
      ui: true,
      uiPort: config.temporal.uiPort,
      log: say,
    });
    stops.push(dev.stop);
    temporalAddress = dev.address;
    temporalUiUrl ??= dev.uiUrl;
  }

  const abono = await startAbono({ config, log, databaseUrl, ownerDatabaseUrl, temporalAddress, temporalUiUrl });
  stops.push(abono.stop);
  if (stopping) return;

  process.stdout.write(banner(abono.apiUrl, temporalUiUrl, abono.bootstrapAdminKey));
}

/** What npm start prints once everything runs: where the API, its docs and Temporal's UI are, and a new admin key. */
function banner(apiUrl: string | undefined, temporalUiUrl: string | undefined, adminKey: string | undefined): string {
  const lines = [
    `abono is running`,
    apiUrl && `  API:          ${apiUrl}/v1`,
    apiUrl && `  OpenAPI docs: ${apiUrl}/docs`,
    temporalUiUrl && `  Temporal UI:  ${temporalUiUrl}`,
    adminKey && `  Admin API key (shown once, store it now): ${adminKey}`,
  ].filter(Boolean);
  return lines.join('\n') + '\n';
}

main().catch((err) => {
  console.error(`abono: failed to start: ${err?.message ?? err}`);
  process.exit(1);
});
