// `npm run api` (and the compose `api` service): the HTTP API alone. It starts payment workflows
// but runs none: workers (src/worker/main.ts) do. Scale out by running more behind a load balancer.
import { runSplitProcess } from '../split-process';

runSplitProcess('api', (abono, config, log) => {
  const base = config.http.publicUrl ?? abono.apiUrl;
  log.info({ apiUrl: abono.apiUrl, temporalAddress: config.temporal.address }, 'api listening');
  const lines = [
    `abono api is running`,
    `  API:          ${base}/v1`,
    `  OpenAPI docs: ${base}/docs`,
    config.temporal.uiUrl && `  Temporal UI:  ${config.temporal.uiUrl}`,
    abono.bootstrapAdminKey && `  Admin API key (shown once, store it now): ${abono.bootstrapAdminKey}`,
  ].filter(Boolean);
  process.stdout.write(lines.join('\n') + '\n');
});
