import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { startAbono } from '../../src/abono';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { createApiKey } from '../../src/db/api-keys';
import { paymentIdForKey } from '../../src/client/payments';
import { call, createCredit, freshDatabase, pay, startTestApp, TestApp } from '../support/harness';

/** The value of one sample in Prometheus text (0 when absent), e.g. sample(t, 'abono_payments_total', { outcome: 'APPLIED' }). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v) && Object.keys(got).length === Object.keys(labels).length) return Number(m[3]);
  }
  return 0;
}

// The business figures need the metrics token (the public /metrics has process and HTTP figures only).
const METRICS_TOKEN = 'operations-test-metrics-token-0123456789';
const scrape = async (app: Pick<TestApp, 'url'>) => {
  const res = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return res.text();
};

describe('GET /metrics', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ METRICS_TOKEN, TEMPORAL_SDK_METRICS_PORT: '0' });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('counts payments by outcome, amounts, latency, reversals and HTTP requests by route, and carries the SDK metrics', async () => {
    const credit = await createCredit(app); // 1200.00 due
    const before = await scrape(app);

    const applied = [];
    for (let i = 0; i < 9; i++) {
      const res = await pay(app, credit.id, i === 0 ? '100.50' : '100.00');
      expect(res.status).toBe(201);
      applied.push(res.body.id as string);
    }
    // 900.50 paid, 299.50 left: 500.00 is refused.
    const refused = await pay(app, credit.id, '500.00');
    expect(refused.status).toBe(422);
    const rev = await call(app, 'POST', `/v1/payments/${applied[1]}/reversal`, { key: app.keys.operator, body: { reason: 'test' } });
    expect(rev.status).toBe(200);
    expect((await call(app, 'GET', `/v1/payments/${applied[0]}`, { key: app.keys.viewer })).status).toBe(200);
    expect((await call(app, 'GET', `/v1/nowhere/${randomUUID()}`, { key: app.keys.viewer })).status).toBe(404);

    const after = await scrape(app);
    const delta = (name: string, labels: Record<string, string> = {}) => Math.round((sample(after, name, labels) - sample(before, name, labels)) * 100) / 100;

    expect(delta('abono_payments_total', { outcome: 'APPLIED' })).toBe(9);
    expect(delta('abono_payments_total', { outcome: 'REJECTED' })).toBe(1);
    expect(delta('abono_payments_total', { outcome: 'FAILED' })).toBe(0);
    expect(delta('abono_payments_applied_amount_total')).toBe(900.5);
    expect(delta('abono_payment_latency_seconds_count', { outcome: 'APPLIED' })).toBe(9);
    expect(delta('abono_payment_latency_seconds_count', { outcome: 'REJECTED' })).toBe(1);
    expect(delta('abono_payment_latency_seconds_bucket', { outcome: 'APPLIED', le: '+Inf' })).toBe(9);
    expect(delta('abono_payment_reversals_total', { outcome: 'REVERSED' })).toBe(1);
    expect(delta('abono_payments_reversed_amount_total')).toBe(100);

    // HTTP by route pattern and status: ids never become labels.
    expect(delta('abono_http_requests_total', { method: 'POST', route: '/v1/payments', status: '201' })).toBe(9);
    expect(delta('abono_http_requests_total', { method: 'POST', route: '/v1/payments', status: '422' })).toBe(1);
    expect(delta('abono_http_requests_total', { method: 'POST', route: '/v1/payments/:id/reversal', status: '200' })).toBe(1);
    expect(delta('abono_http_requests_total', { method: 'GET', route: '/v1/payments/:id', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(delta('abono_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(after).not.toContain(applied[0]);
    expect(after).not.toContain(credit.id);

    // The families that count rarer events are present with their help text.
    for (const family of ['abono_activity_retries_total', 'abono_payment_compensations_total', 'abono_recalculation_runs_total', 'abono_http_request_duration_seconds']) {
      expect(after).toContain(`# HELP ${family} `);
    }
    // The worker's own Temporal SDK metrics, appended by the same scrape.
    expect(after).toContain('# Temporal SDK (worker) metrics');
    expect(after).toMatch(/^temporal_\w+/m);
    expect(after).toMatch(/^temporal_(workflow_completed|activity_execution_latency|workflow_task_execution_latency|num_pollers)\w*/m);
  });

  it('counts a recalculation batch when it finishes', async () => {
    const before = await scrape(app);
    const started = await call(app, 'POST', '/v1/recalculations', { key: app.keys.admin, body: { dryRun: true } });
    expect(started.status).toBe(202);
    for (let i = 0; i < 100; i++) {
      const got = await call(app, 'GET', `/v1/recalculations/${started.body.id}`, { key: app.keys.viewer });
      if (got.body.status === 'COMPLETED') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const after = await scrape(app);
    expect(sample(after, 'abono_recalculation_runs_total', { status: 'COMPLETED', mode: 'DRY_RUN' }) - sample(before, 'abono_recalculation_runs_total', { status: 'COMPLETED', mode: 'DRY_RUN' })).toBe(1);
    expect(sample(after, 'abono_recalculation_last', { figure: 'inconsistent' })).toBe(0);
    expect(sample(after, 'abono_recalculation_last', { figure: 'scanned' })).toBeGreaterThanOrEqual(1);
  });

  it('counts a compensation and the FAILED outcome', async () => {
    const faulty = await startTestApp({ METRICS_TOKEN, TEMPORAL_SDK_METRICS_PORT: '0' }, ['apply']);
    try {
      const before = await scrape(faulty);
      const credit = await createCredit(faulty);
      const res = await pay(faulty, credit.id, '10.00');
      expect(res.status).toBe(500);
      const after = await scrape(faulty);
      const delta = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);
      expect(delta('abono_payments_total', { outcome: 'FAILED' })).toBe(1);
      expect(delta('abono_payment_compensations_total', { unapplied: 'false' })).toBe(1);
      expect(delta('abono_payment_latency_seconds_count', { outcome: 'FAILED' })).toBe(1);
      expect(delta('abono_activity_failures_total', { activity: 'applyPayment', kind: 'local' })).toBe(1);
    } finally {
      await faulty.stop();
    }
  });
});

describe('GET /v1/operations/stuck', () => {
  it('lists payments still running after olderThan, with their step and a Temporal UI link; refuses a bad olderThan', async () => {
    const api = await startTestApp({ RUN_WORKER: 'false', PAYMENT_WAIT_MS: '200' });
    const keys = [randomUUID(), randomUUID()];
    try {
      const credit = await createCredit(api);
      const answers = await Promise.all(keys.map((k) => pay(api, credit.id, '50.00', {}, k)));
      expect(answers.map((a) => a.status)).toEqual([202, 202]);
      await new Promise((r) => setTimeout(r, 1500));

      const res = await call(api, 'GET', `/v1/operations/stuck?olderThan=1s&creditId=${credit.id}`, { key: api.keys.viewer });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ olderThan: '1s', olderThanMs: 1000, total: 2, shown: 2 });
      expect(res.body.query).toMatch(/^ExecutionStatus = "Running" AND OperationKind IN \("payment", "reversal", "recalculation"\) AND StartTime < "[^"]+Z" AND CreditId = "/);
      expect(res.body.temporalListUrl).toMatch(/^http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\?query=/);
      const ids = keys.map((k) => `payment-${paymentIdForKey(k)}`).sort();
      expect(res.body.operations.map((o: any) => o.workflowId).sort()).toEqual(ids);
      for (const o of res.body.operations) {
        expect(o).toMatchObject({ kind: 'payment', creditId: credit.id, operationStatus: 'RUNNING', workflowType: 'paymentWorkflow', currentStep: 'waiting for a worker' });
        expect(o.paymentId).toBe(o.workflowId.replace(/^payment-/, ''));
        expect(o.runningForMs).toBeGreaterThanOrEqual(1000);
        expect(o.temporalUrl).toBe(`http://127.0.0.1:8233/namespaces/default/workflows/${o.workflowId}/${o.runId}/history`);
        expect(o.pendingWorkflowTask).toMatchObject({ state: 'SCHEDULED' });
      }

      // Without the credit filter they are among the running operations too; a long olderThan excludes them.
      const all = await call(api, 'GET', '/v1/operations/stuck?olderThan=1s&kind=payment&limit=1000', { key: api.keys.viewer });
      expect(all.status).toBe(200);
      expect(all.body.operations.map((o: any) => o.workflowId)).toEqual(expect.arrayContaining(ids));
      const none = await call(api, 'GET', `/v1/operations/stuck?olderThan=1h&creditId=${credit.id}`, { key: api.keys.viewer });
      expect(none.body).toMatchObject({ total: 0, operations: [] });

      for (const bad of ['60', '1d', '-5s', 's', '1.5s', '60%20s']) {
        const r = await call(api, 'GET', `/v1/operations/stuck?olderThan=${bad}`, { key: api.keys.viewer });
        expect(r.status).toBe(400);
        expect(r.body).toMatchObject({ code: 'OLDER_THAN_INVALID', errors: [{ field: 'olderThan', code: 'OLDER_THAN_INVALID' }] });
      }
      const missing = await call(api, 'GET', '/v1/operations/stuck', { key: api.keys.viewer });
      expect(missing.status).toBe(400);
      expect(missing.body.errors[0].field).toBe('olderThan');
      const badKind = await call(api, 'GET', '/v1/operations/stuck?olderThan=1s&kind=loan', { key: api.keys.viewer });
      expect(badKind.body).toMatchObject({ status: 400, errors: [{ field: 'kind' }] });
      expect((await call(api, 'GET', '/v1/operations/stuck?olderThan=1s')).status).toBe(401);
    } finally {
      // Nothing will ever run these (no worker polls this task queue): end them so they list nowhere else.
      await Promise.all(keys.map((k) => api.abono.client.workflow.getHandle(`payment-${paymentIdForKey(k)}`).terminate('test over').catch(() => undefined)));
      await api.stop();
    }
  });
});

describe('logs', () => {
  it("carry a payment's ids on every line about it, and never an API key or a request body", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const config = loadConfig({ ...process.env, PORT: '0', TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`, PAYMENT_WAIT_MS: '10000', RECALC_SCHEDULE_ENABLED: 'false', LOG_LEVEL: 'info' });
    const abono = await startAbono({
      config,
      log: createLogger('info', 'abono', sink),
      databaseUrl: await freshDatabase(),
      temporalAddress: process.env.TEMPORAL_ADDRESS!,
      temporalUiUrl: 'http://127.0.0.1:8233',
    });
    const app = {
      abono,
      url: abono.apiUrl!,
      taskQueue: config.temporal.taskQueue,
      keys: {
        admin: (await createApiKey(abono.ds, 'log-admin', 'admin')).key,
        operator: (await createApiKey(abono.ds, 'log-operator', 'operator')).key,
        viewer: (await createApiKey(abono.ds, 'log-viewer', 'viewer')).key,
      },
      stop: () => abono.stop(),
    };
    try {
      const credit = await createCredit(app);
      const secretRef = `body-marker-${randomUUID()}`;
      const ok = await pay(app, credit.id, '120.00', { reference: secretRef });
      expect(ok.status).toBe(201);
      const refused = await pay(app, credit.id, '5000.00');
      expect(refused.status).toBe(422);
      expect((await call(app, 'GET', `/v1/payments/${ok.body.id}`, { key: app.keys.viewer })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 200)); // let the last lines flush

      const parsed = lines.map((l) => JSON.parse(l));
      for (const paymentId of [ok.body.id, refused.body.paymentId]) {
        const about = parsed.filter((l) => JSON.stringify(l).includes(paymentId));
        // The API's request lines and the worker's outcome line, at least.
        expect(about.length).toBeGreaterThanOrEqual(2);
        expect(about.some((l) => l.req && l.res)).toBe(true);
        expect(about.some((l) => l.activity && /^payment (applied|rejected)/.test(l.msg))).toBe(true);
        for (const l of about) {
          expect(l).toMatchObject({ paymentId, creditId: credit.id, workflowId: `payment-${paymentId}` });
        }
      }
      const all = lines.join('\n');
      for (const key of Object.values(app.keys)) expect(all).not.toContain(key);
      expect(all).not.toContain(secretRef);
      expect(all).toContain('"authorization":"[redacted]"');
    } finally {
      await app.stop();
    }
  });
});
