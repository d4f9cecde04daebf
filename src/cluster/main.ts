// `npm run cluster [-- --api M --workers N]`: the production shape on this machine (README:
// Running it like production). Ctrl-C or SIGTERM stops every process it started.
import { clusterOptionsFrom, maskPassword, UsageError } from './args';
import { startCluster } from './topology';

function options() {
  try {
    return clusterOptionsFrom(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`abono cluster: ${err.message}`);
    process.exit(2);
  }
}

async function main() {
  const opts = options();
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

  const cluster = await startCluster({ ...opts, log });
  stop = cluster.stop;
  if (stopping) return void (await cluster.stop());
  const lines = [
    'abono cluster is running',
    ...cluster.apiUrls.map((url, i) => `  API ${i + 1}:        ${url}/v1   (docs: ${url}/docs)`),
    `  Temporal:     ${cluster.temporalAddress}`,
    `  Temporal UI:  ${cluster.uiUrl ?? '(none)'}`,
    `  PostgreSQL:   ${maskPassword(cluster.databaseUrl)}`,
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
