// `npm run worker` (and the compose `worker` service): the Temporal worker alone. No HTTP API
// here: scale out by running more of these. Safe to start first on an empty database.
import { startMetricsServer } from '../observability/metrics';
import { runSplitProcess } from '../split-process';

runSplitProcess('worker', async (abono, config, log) => {
  // This process has no API: METRICS_PORT serves its own GET /metrics (its activities' counters and the SDK's).
  if (config.observability.metricsPort) await startMetricsServer(config.observability.metricsHost, config.observability.metricsPort);
  // startedInMs: from the process's start to polling (module loading, migrations check, workflow bundle).
  const startedInMs = Math.round(process.uptime() * 1000);
  log.info({ temporalAddress: config.temporal.address, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue, batchTaskQueue: config.temporal.batchTaskQueue, startedInMs }, 'worker running');
  if (abono.bootstrapAdminKey) process.stdout.write(`Admin API key (shown once, store it now): ${abono.bootstrapAdminKey}\n`);
});
