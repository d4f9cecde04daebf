// `npm run cluster [-- --api M --workers N]`: the production shape on this machine (README:
// Running it like production). Ctrl-C or SIGTERM stops every process it started.
import { parseArgs } from 'node:util';
import { startCluster } from './topology';

function count(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 32) {
    console.error(`abono cluster: --${flag} must be a whole number from 1 to 32, not "${value}"`);
    process.exit(2);
  }
  return n;
}

function options() {
  try {
    return parseArgs({
      options: {
        api: { type: 'string' },
        workers: { type: 'string' },
        'api-port': { type: 'string' },
        'temporal-port': { type: 'string' },
        'ui-port': { type: 'string' },
        'no-ui': { type: 'boolean' },
        'data-dir': { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`abono cluster: ${(err as Error).message}`);
    process.exit(2);
  }
}

async function main() {
  const v = options();
  const portOf = (flag: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 65535) {
      console.error(`abono cluster: --${flag} must be a port number, not "${value}"`);
      process.exit(2);
    }
    return n;
  };
  const log = (line: string) => console.log(`[cluster] ${line}`);
  let stop: (() => Promise<void>) | undefined;
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    // Still starting: exiting SIGKILLs whatever has started (src/cluster/child.ts).
    if (!stop) process.exit(130);
    await stop();
    log('stopped');
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(signal));

  const cluster = await startCluster({
    apiCount: count('api', v.api, 2),
    workerCount: count('workers', v.workers, 2),
    apiBasePort: portOf('api-port', v['api-port']),
    temporalPort: portOf('temporal-port', v['temporal-port']),
    uiPort: v['no-ui'] ? false : portOf('ui-port', v['ui-port']),
    databaseUrl: process.env.DATABASE_URL || undefined,
    dataDir: v['data-dir'],
    log,
  });
  stop = cluster.stop;
  if (stopping) return void (await cluster.stop());
  const lines = [
    'abono cluster is running',
    ...cluster.apiUrls.map((url, i) => `  API ${i + 1}:        ${url}/v1   (docs: ${url}/docs)`),
    `  Temporal:     ${cluster.temporalAddress}`,
    `  Temporal UI:  ${cluster.uiUrl ?? '(none)'}`,
    `  PostgreSQL:   ${cluster.databaseUrl.replace(/\/\/([^:@]+):[^@]*@/, '//$1:***@')}`,
    `  Processes:    ${[cluster.postgres, cluster.temporal, ...cluster.apis, ...cluster.workers].filter(Boolean).map((p) => `${p!.name} (pid ${p!.pid})`).join(', ')}`,
    cluster.adminKey && `  Admin API key (shown once, store it now): ${cluster.adminKey}`,
    '  Ctrl-C stops everything.',
  ].filter(Boolean);
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((err) => {
  console.error(`abono cluster: failed to start: ${err?.message ?? err}`);
  process.exit(1);
});
