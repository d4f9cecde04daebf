/**
 * abono's Prometheus metrics (issue 7): ONE registry per process, served by `GET /metrics` (no key, DESIGN.md §5).
 *
 * Where each figure is counted, and in which process (in `npm start` the API and the worker are one process; in a
 * split deployment each process has its own registry, so scrape both):
 * - worker (activities): payments by outcome, amounts applied, compensations, reversals, activity retries and
 *   failures, recalculation results. Each is counted once per state change the database confirms (a retried step
 *   that finds the work done does not count again). Also where recalculation and payment file chunks spend their
 *   time: a timing, observed for every attempt, the ones rolled back included.
 * - API: the submission-to-outcome latency histogram, HTTP requests by route and status.
 * - the Temporal SDK's own metrics (temporal_*): exported by the SDK core on a local port of the worker process
 *   (TEMPORAL_SDK_METRICS_PORT) and appended to this registry's text by `metricsText()`, so one scrape gets both.
 *
 * Money: amounts are exact decimal strings everywhere in abono. Prometheus samples are float64, so the decimal
 * string is converted with Number() here and only here (`moneyToFloat`): a counter of amounts is a monitoring
 * figure, exact to well under a cent up to ~10^13, and never read back into any money computation.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const paymentsTotal = new Counter({
  name: 'abono_payments_total',
  help: 'Payments that reached a terminal state, by outcome (APPLIED, REJECTED, FAILED); counted by the worker once per payment',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const paymentLatency = new Histogram({
  name: 'abono_payment_latency_seconds',
  help: 'Seconds from the arrival of POST /v1/payments to its terminal answer (APPLIED, REJECTED, FAILED), measured in the API for answers that reached a terminal state within the wait budget (202 answers are not observed)',
  labelNames: ['outcome'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export const amountApplied = new Counter({
  name: 'abono_payments_applied_amount_total',
  help: 'Sum of the amounts of APPLIED payments (currency units; float64 from the exact decimal, monitoring only)',
  registers: [registry],
});

export const compensationsTotal = new Counter({
  name: 'abono_payment_compensations_total',
  help: 'Payments whose workflow ran the compensation (ended FAILED); unapplied="true" when the payment had been applied and was taken out of the ledger',
  labelNames: ['unapplied'] as const,
  registers: [registry],
});

export const reversalsTotal = new Counter({
  name: 'abono_payment_reversals_total',
  help: 'Reversal workflows by outcome (REVERSED, REFUSED)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const reversedAmount = new Counter({
  name: 'abono_payments_reversed_amount_total',
  help: 'Sum of the amounts of REVERSED payments (currency units; float64, monitoring only)',
  registers: [registry],
});

export const activityRetries = new Counter({
  name: 'abono_activity_retries_total',
  help: 'Activity attempts after the first (Temporal retries), by activity and kind (local or remote)',
  labelNames: ['activity', 'kind'] as const,
  registers: [registry],
});

export const activityFailures = new Counter({
  name: 'abono_activity_failures_total',
  help: 'Activity attempts that threw (each may be retried), by activity and kind (local or remote)',
  labelNames: ['activity', 'kind'] as const,
  registers: [registry],
});

export const recalculationRuns = new Counter({
  name: 'abono_recalculation_runs_total',
  help: 'Recalculation batches that finished, by final status',
  labelNames: ['status', 'mode'] as const,
  registers: [registry],
});

export const recalculationInconsistencies = new Counter({
  name: 'abono_recalculation_inconsistencies_total',
  help: 'Inconsistent credits found by finished recalculation batches (each one is also an alert)',
  registers: [registry],
});

export const recalculationLast = new Gauge({
  name: 'abono_recalculation_last',
  help: 'The last finished recalculation batch in this process: scanned, inconsistent, corrected, errors credits, and duration_seconds',
  labelNames: ['figure'] as const,
  registers: [registry],
});

export const recalculationLastFinished = new Gauge({
  name: 'abono_recalculation_last_finished_timestamp_seconds',
  help: 'Unix time at which the last recalculation batch in this process finished',
  registers: [registry],
});

export const httpRequests = new Counter({
  name: 'abono_http_requests_total',
  help: 'HTTP requests answered by the API, by method, route pattern and status',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});

export const httpDuration = new Histogram({
  name: 'abono_http_request_duration_seconds',
  help: 'HTTP request duration by method and route pattern',
  labelNames: ['method', 'route'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

/** Where a recalculation chunk's time goes in this worker process: reading and checking, then recording. */
export const recalculationChunkSeconds = new Histogram({
  name: 'abono_recalculation_chunk_seconds',
  help: 'Seconds per recalculation chunk in this worker process, by phase: check (read the chunk and recompute it), record (findings and corrections)',
  labelNames: ['phase'] as const,
  buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  registers: [registry],
});

/** Where a payment file's chunks spend their time in this worker process, step by step (the chunk's transaction). */
export const paymentFileChunkSeconds = new Histogram({
  name: 'abono_payment_file_chunk_seconds',
  help: "Seconds per payment file chunk in this worker process, by step: lines (read the chunk's pending lines), locks (its credits, in id order), keys (record the lines' idempotency keys), arithmetic (schedules read, the waterfall and the rows built), payments (COPY), ledger (allocations, credit states and audit entries), outcomes (each line's outcome and the chunk's row)",
  labelNames: ['step'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

const sdkScrapeErrors = new Counter({
  name: 'abono_temporal_sdk_metrics_scrape_errors_total',
  help: "Scrapes of /metrics that could not include the Temporal SDK's metrics (its exporter did not answer in time)",
  registers: [registry],
});

/** The decimal-string → float64 boundary: the only place an amount becomes a JavaScript number. */
export function moneyToFloat(amount: string): number {
  const n = Number(amount);
  return Number.isFinite(n) ? n : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// The Temporal SDK's own metrics

let sdkMetricsUrl: string | undefined;

/** Set by installRuntime when the SDK core exports Prometheus metrics on a local port of this process. */
export function setSdkMetricsUrl(url: string | undefined): void {
  sdkMetricsUrl = url;
}

/** This registry's text, then the SDK core's (fetched with a short timeout), so one scrape gets both. */
export async function metricsText(timeoutMs = 1000): Promise<string> {
  const [own, sdk] = await Promise.all([
    registry.metrics(),
    sdkMetricsUrl
      ? fetch(sdkMetricsUrl, { signal: AbortSignal.timeout(timeoutMs) })
          .then((r) => (r.ok ? r.text() : Promise.reject(new Error(`status ${r.status}`))))
          .catch((err: Error) => {
            sdkScrapeErrors.inc();
            return `# Temporal SDK metrics unavailable: ${String(err.message).replace(/\n/g, ' ')}\n`;
          })
      : Promise.resolve(''),
  ]);
  return sdk ? `${own}\n# Temporal SDK (worker) metrics\n${sdk}` : own;
}

export const metricsContentType = registry.contentType;

/** A free TCP port on the host right now (for the SDK exporter when no port is configured). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const srv = http.createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, host, resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** A tiny listener serving only GET /metrics, for processes without the API (npm run worker with METRICS_PORT). */
export async function startMetricsServer(host: string, port: number): Promise<http.Server> {
  const srv = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metricsText().then(
      (text) => res.writeHead(200, { 'content-type': metricsContentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(port, host, resolve));
  return srv;
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

/**
 * Counts every answered request by its route PATTERN (`/v1/payments/:id`, never the id), so label cardinality
 * stays bounded: requests no route matched are `unmatched` (404s) or the mount path (`/docs`, `/dashboard`).
 */
export function httpMetrics() {
  return (req: Request, res: Response, next: NextFunction) => {
    const end = httpDuration.startTimer();
    res.once('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : res.statusCode === 404 ? 'unmatched' : req.baseUrl || 'other';
      httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      end({ method: req.method, route });
    });
    next();
  };
}

/** Called when a recalculation batch finishes (finishRecalculation): its result as counters and gauges. */
export function recordRecalculationMetrics(s: { status: string; mode: string; scanned: number; inconsistent: number; corrected: number; errors: number; durationMs: number }): void {
  recalculationRuns.inc({ status: s.status, mode: s.mode });
  recalculationInconsistencies.inc(s.inconsistent);
  for (const figure of ['scanned', 'inconsistent', 'corrected', 'errors'] as const) recalculationLast.set({ figure }, s[figure]);
  recalculationLast.set({ figure: 'duration_seconds' }, s.durationMs / 1000);
  recalculationLastFinished.set(Date.now() / 1000);
}
