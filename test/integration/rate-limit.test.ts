import { randomUUID } from 'node:crypto';
import { snapshot } from '../support/db';
import { call, createCredit, startTestApp, TestApp } from '../support/harness';
import { rawRequest } from '../support/raw-http';

const LIMIT = 5;
const WINDOW_MS = 1500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A GET from another loopback address (127.0.0.x), as a different client would. */
async function getFrom(app: TestApp, localAddress: string, path: string, key?: string) {
  const head = [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...(key ? [`Authorization: Bearer ${key}`] : [])].join('\r\n');
  return rawRequest(app.url, head, '', { localAddress });
}

describe('rate limits', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ RATE_LIMIT_PER_MINUTE: String(LIMIT), RATE_LIMIT_WINDOW_MS: String(WINDOW_MS) });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('per address: 429 problem+json with Retry-After past the limit, nothing recorded, and it recovers after the window', async () => {
    await sleep(WINDOW_MS); // a fresh window
    const path = `/v1/payments/${randomUUID()}`;
    const statuses: number[] = [];
    // Requests without a valid key (missing or unknown) from one address: the address's counter stops them all.
    const unknownKey = `abono_unknown_${randomUUID()}`;
    for (let i = 0; i < LIMIT; i++) statuses.push((await call(app, 'GET', path, { key: i % 2 ? unknownKey : undefined })).status);
    expect(statuses.every((s) => s === 401)).toBe(true);

    const before = await snapshot(app.abono.ds);
    const refused = await call(app, 'POST', '/v1/payments', { key: unknownKey, headers: { 'idempotency-key': randomUUID() }, body: { creditId: randomUUID(), amount: '1.00' } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil(WINDOW_MS / 1000));
    expect(refused.headers.get('ratelimit-policy')).toBeTruthy();
    expect(await snapshot(app.abono.ds)).toEqual(before);

    // Health checks are never limited.
    expect((await call(app, 'GET', '/health')).status).toBe(200);

    await sleep(WINDOW_MS + 100);
    expect((await call(app, 'GET', path, { key: app.keys.viewer })).status).toBe(404);
  });

  it('per key: one key spread over several addresses is still limited, other keys are not', async () => {
    await sleep(WINDOW_MS);
    const path = `/v1/payments/${randomUUID()}`;
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT; i++) statuses.push((await getFrom(app, `127.0.0.${10 + i}`, path, app.keys.viewer)).status);
    expect(statuses).toEqual(Array(LIMIT).fill(404));
    const refused = await getFrom(app, '127.0.0.20', path, app.keys.viewer);
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ code: 'RATE_LIMITED' });
    expect(refused.body.detail).toMatch(/API key/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Another key from another address goes through.
    expect((await getFrom(app, '127.0.0.21', path, app.keys.operator)).status).toBe(404);
    await sleep(WINDOW_MS + 100);
    expect((await getFrom(app, '127.0.0.22', path, app.keys.viewer)).status).toBe(404);
  });
});

describe('headers, CORS and timeouts', () => {
  let plain: TestApp;
  let withCors: TestApp;
  beforeAll(async () => {
    [plain, withCors] = await Promise.all([
      startTestApp({ DATABASE_STATEMENT_TIMEOUT_MS: '1000' }),
      startTestApp({ CORS_ORIGINS: 'https://cashier.example.com, https://ops.example.com' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([plain?.stop(), withCors?.stop()]);
  });

  it('sends security headers and no X-Powered-By', async () => {
    const res = await call(plain, 'GET', '/health');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-powered-by')).toBeNull();
    // Problem answers too.
    const problem = await call(plain, 'GET', '/v1/credits/x');
    expect(problem.headers.get('x-content-type-options')).toBe('nosniff');
    // The API docs still load under the content security policy.
    expect((await call(plain, 'GET', '/docs/')).status).toBe(200);
  });

  it('sends no CORS headers unless CORS_ORIGINS is set', async () => {
    const origin = 'https://evil.example.net';
    const simple = await call(plain, 'GET', '/health', { headers: { origin } });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await call(plain, 'OPTIONS', '/v1/payments', { headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-headers')).toBeNull();
  });

  it('with CORS_ORIGINS, allows exactly those origins', async () => {
    const ok = await call(withCors, 'OPTIONS', '/v1/payments', {
      headers: { origin: 'https://ops.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,idempotency-key' },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://ops.example.com');
    expect(ok.headers.get('access-control-allow-headers')).toMatch(/Idempotency-Key/);
    const credit = await createCredit(withCors);
    const get = await call(withCors, 'GET', `/v1/credits/${credit.id}`, { key: withCors.keys.viewer, headers: { origin: 'https://cashier.example.com' } });
    expect(get.headers.get('access-control-allow-origin')).toBe('https://cashier.example.com');
    const evil = await call(withCors, 'GET', `/v1/credits/${credit.id}`, { key: withCors.keys.viewer, headers: { origin: 'https://evil.example.net' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('bounds every database statement by DATABASE_STATEMENT_TIMEOUT_MS', async () => {
    const [{ statement_timeout }] = await plain.abono.ds.query(`SHOW statement_timeout`);
    expect(statement_timeout).toBe('1s');
    await expect(plain.abono.ds.query(`SELECT pg_sleep(3)`)).rejects.toThrow(/statement timeout/);
  });
});
