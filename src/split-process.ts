// What `npm run api` and `npm run worker` share: each runs one half of abono against the
// PostgreSQL at DATABASE_URL and the Temporal server at TEMPORAL_ADDRESS (no embedded servers),
// applies pending migrations at start (startAbono), and stops cleanly on SIGINT/SIGTERM.
import { type Abono, startAbono } from './abono';
import { type Config, ConfigError, loadConfig } from './config';
import { createLogger, type Logger } from './logger';

export type SplitConfig = Config & { database: { url: string }; temporal: { address: string } };

const label = { api: 'the API', worker: 'the worker' } as const;

function configure(role: 'api' | 'worker'): SplitConfig {
  const config = loadConfig();
  const url = config.database.url;
  const address = config.temporal.address;
  const missing = [
    !url && `DATABASE_URL: required to run ${label[role]} on its own (npm start embeds PostgreSQL)`,
    !address && `TEMPORAL_ADDRESS: required to run ${label[role]} on its own (npm start embeds Temporal)`,
  ].filter((m): m is string => typeof m === 'string');
  if (!url || !address) throw new ConfigError(`invalid configuration: ${missing.join('; ')}`);
  // This process is one half and only that half, whatever RUN_API / RUN_WORKER say.
  return {
    ...config,
    database: { ...config.database, url },
    temporal: { ...config.temporal, address },
    runWorker: role === 'worker',
    runApi: role === 'api',
  };
}

/** Starts the given half; `started` announces it (logs, banner) once it is up. */
export function runSplitProcess(role: 'api' | 'worker', started: (abono: Abono, config: SplitConfig, log: Logger) => Promise<void> | void): void {
  const main = async () => {
    let config: SplitConfig;
    try {
      config = configure(role);
    } catch (err) {
      if (err instanceof ConfigError) {
        console.error(`abono ${role}: ${err.message}`);
        process.exit(2);
      }
      throw err;
    }
    const log = createLogger(config.logLevel, `abono-${role}`);

    let abono: Abono | undefined;
    let stopping = false;
    const shutdown = async (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, 'second signal while stopping: exiting now');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'shutting down');
      try {
        await abono?.stop();
      } catch (err) {
        log.error({ err }, 'error while stopping');
      }
      log.info('stopped');
      process.exit(0);
    };
    process.on('SIGINT', () => void shutdown('SIGINT'));
    process.on('SIGTERM', () => void shutdown('SIGTERM'));

    abono = await startAbono({ config, log, databaseUrl: config.database.url, temporalAddress: config.temporal.address, temporalUiUrl: config.temporal.uiUrl });
    if (stopping) {
      // A signal arrived while starting: shutdown() found nothing to stop yet.
      await abono.stop();
      return;
    }
    await started(abono, config, log);
  };
  main().catch((err) => {
    console.error(`abono ${role}: failed to start: ${String(err?.message ?? err).split('\n')[0]}`);
    process.exit(1);
  });
}
