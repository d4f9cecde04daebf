import { randomBytes } from 'node:crypto';
import { freePort } from '../../src/observability/metrics';
import { call, createCredit, pay, startTestApp, TestApp } from '../support/harness';

const BUSINESS = /^abono_(payments?|recalculation)_\w+/m;
const sampleOf = (text: string, name: string) => text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));

/** Business totals (amounts, counts of payments and credits) only on the metrics listener or with the metrics token. */
describe('metrics that do not leak', () => {
  let app: TestApp;
  let metricsPort: number;
  const token = randomBytes(32).toString('base64url');
  beforeAll(async () => {
    metricsPort = await freePort();
    app = await startTestApp({ METRICS_PORT: String(metricsPort), METRICS_TOKEN: token });
    const credit = await createCredit(app);
    expect((await pay(app, credit.id, '123.45')).status).toBe(201);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('the public /metrics on the API port has process and HTTP figures only', async () => {
    const res = await call(app, 'GET', '/metrics');
    expect(res.status).toBe(200);
    const text = res.body as string;
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).toMatch(/^abono_http_requests_total\{/m);
    expect(text).not.toMatch(BUSINESS);
    expect(text).not.toContain('amount');
    // An API key is not the metrics token; a wrong token is refused rather than silently narrowed.
    expect((await call(app, 'GET', '/metrics', { key: app.keys.admin })).status).toBe(401);
  });

  it('the bearer token adds the business totals', async () => {
    const res = await call(app, 'GET', '/metrics', { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(Number(sampleOf(res.body, 'abono_payments_applied_amount_total')?.split(' ')[1])).toBeGreaterThanOrEqual(123.45);
    expect(res.body).toMatch(/^abono_http_requests_total\{/m);
  });

  it('the metrics listener (METRICS_HOST, default 127.0.0.1) serves everything without a token', async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(Number(sampleOf(text, 'abono_payments_applied_amount_total')?.split(' ')[1])).toBeGreaterThanOrEqual(123.45);
    expect(text).toMatch(/^abono_payments_total\{outcome="APPLIED"\}/m);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
  });
});
