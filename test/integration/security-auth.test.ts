import { randomBytes, randomUUID } from 'node:crypto';
import { createApiKey, hashApiKey, revokeApiKey, type Role, roleRank } from '../../src/db/api-keys';
import { snapshot } from '../support/db';
import { call, createCredit, creditBody, HttpAnswer, pay, startTestApp, TestApp } from '../support/harness';
import { discoverRoutes, type RouteInfo } from '../support/routes';

// DESIGN.md section 5: who may call what.
const EXPECTED: Record<string, Role> = {
  'POST /v1/credits': 'admin',
  'GET /v1/credits/:id': 'viewer',
  'GET /v1/credits/:id/schedule': 'viewer',
  'GET /v1/credits/:id/payments': 'viewer',
  'POST /v1/payments': 'operator',
  'GET /v1/payments/:id': 'viewer',
  'POST /v1/payments/:id/reversal': 'operator',
  'POST /v1/recalculations': 'admin',
  'GET /v1/recalculations/:id': 'viewer',
  'POST /v1/recalculations/:id/approval': 'admin',
  'GET /v1/reports/portfolio': 'viewer',
  'GET /v1/reports/payments': 'viewer',
  'GET /v1/operations/stuck': 'viewer',
  'GET /v1/dashboard/summary': 'viewer',
  'GET /v1/credits': 'viewer',
  'GET /v1/credits/:id/audit': 'viewer',
  'POST /v1/payment-batches': 'operator',
  'GET /v1/payment-batches': 'viewer',
  'GET /v1/payment-batches/:id': 'viewer',
  'GET /v1/payment-batches/:id/lines': 'viewer',
  'POST /v1/payment-batches/:id/reversal': 'operator',
  'POST /v1/payment-batches/:id/cancellation': 'operator',
  'POST /v1/imports': 'admin',
  'GET /v1/imports': 'viewer',
  'GET /v1/imports/:id': 'viewer',
  'GET /v1/imports/:id/differences': 'viewer',
};

describe('authentication and roles on every route', () => {
  let app: TestApp;
  let creditId: string;
  let paymentId: string;
  let revokedAdmin: string;
  const seen: string[] = []; // every answer's text, checked for secrets at the end
  const remember = (a: HttpAnswer) => {
    seen.push(JSON.stringify(a.body ?? ''), JSON.stringify([...a.headers.entries()]));
    return a;
  };

  beforeAll(async () => {
    app = await startTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
    const credit = await createCredit(app);
    creditId = credit.id;
    const p = await pay(app, credit.id, '100.00');
    expect(p.status).toBe(201);
    paymentId = p.body.id;
    // A key that worked (so it sits in the key cache), then was revoked through this process.
    const k = await createApiKey(app.abono.ds, 'soon-revoked', 'admin');
    expect((await call(app, 'GET', `/v1/credits/${creditId}`, { key: k.key })).status).toBe(200);
    expect(await revokeApiKey(app.abono.ds, k.id)).toBe(true);
    revokedAdmin = k.key;
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('every /v1 route demands a role, and the roles are the ones DESIGN.md section 5 gives', () => {
    const routes = discoverRoutes(app).filter((r) => r.path.startsWith('/v1'));
    expect(routes.length).toBeGreaterThanOrEqual(7);
    for (const r of routes) {
      expect([`${r.method} ${r.path}`, r.role]).toEqual([`${r.method} ${r.path}`, expect.stringMatching(/^(viewer|operator|admin)$/)]);
      const expected = EXPECTED[`${r.method} ${r.path}`];
      if (expected) expect([`${r.method} ${r.path}`, r.role]).toEqual([`${r.method} ${r.path}`, expected]);
    }
    for (const core of ['POST /v1/credits', 'GET /v1/credits/:id', 'POST /v1/payments', 'GET /v1/payments/:id', 'POST /v1/payments/:id/reversal']) {
      expect(routes.map((r) => `${r.method} ${r.path}`)).toContain(core);
    }
  });

  /** The route's path with real ids (and with ids that do not exist), and a body that would change something. */
  function requestsFor(r: RouteInfo): Array<{ path: string; body?: unknown; headers?: Record<string, string> }> {
    const fill = (id: string) => r.path.replace(':id', id);
    const ids = r.path.startsWith('/v1/credits/')
      ? [creditId, randomUUID()]
      : r.path.startsWith('/v1/payments/')
        ? [paymentId, randomUUID()]
        : r.path.startsWith('/v1/payment-batches/') || r.path.startsWith('/v1/imports/')
          ? [randomUUID()]
          : r.path.startsWith('/v1/recalculations/')
          ? ['recalculation-does-not-exist', 'recalculation-x']
          : [''];
    const body =
      r.method !== 'POST'
        ? undefined
        : r.path === '/v1/credits'
          ? creditBody()
          : r.path === '/v1/payments'
            ? { creditId, amount: '10.00', paymentDate: '2026-02-01' }
            : r.path.endsWith('/reversal')
              ? { reason: 'no right to do this' }
              : r.path === '/v1/recalculations'
                ? { mode: 'CORRECT' }
                : r.path.endsWith('/approval')
                  ? { approve: true }
                  : {};
    return ids.map((id) => ({ path: fill(id) + (r.path.startsWith('/v1/reports/payments') ? '?from=2026-01-01&to=2026-12-31' : ''), body, headers: { 'idempotency-key': randomUUID() } }));
  }

  it.each(Object.keys(EXPECTED))('%s: no key, a wrong key, a revoked key and each lower role are refused, and nothing changes', async (route) => {
    const found = discoverRoutes(app).find((r) => `${r.method} ${r.path}` === route);
    if (!found) return; // a route another part of abono has not shipped yet
    await checkRefusals(found);
  });

  it('so is every other /v1 route the app has', async () => {
    for (const r of discoverRoutes(app).filter((x) => x.path.startsWith('/v1') && !EXPECTED[`${x.method} ${x.path}`])) await checkRefusals(r);
  });

  async function checkRefusals(found: RouteInfo) {
    const required = found.role!;
    const lower = (Object.keys(roleRank) as Role[]).filter((role) => roleRank[role] < roleRank[required]);
    const callers: Array<[string, Record<string, string> | { key: string }, number, string]> = [
      ['no Authorization header', {}, 401, 'UNAUTHENTICATED'],
      ['a key that does not exist', { key: `abono_${randomBytes(32).toString('base64url')}` }, 401, 'UNAUTHENTICATED'],
      ['a revoked admin key', { key: revokedAdmin }, 401, 'UNAUTHENTICATED'],
      ['another scheme', { authorization: `Basic ${Buffer.from(`admin:${app.keys.admin}`).toString('base64')}` }, 401, 'UNAUTHENTICATED'],
      ['a key in the wrong place', { 'x-api-key': app.keys.admin }, 401, 'UNAUTHENTICATED'],
      ['a key with something after it', { authorization: `Bearer ${app.keys.admin} x` }, 401, 'UNAUTHENTICATED'],
      ...lower.map((role): [string, { key: string }, number, string] => [`the ${role} role`, { key: app.keys[role] }, 403, 'FORBIDDEN']),
    ];
    const before = await snapshot(app.abono.ds);
    for (const [who, auth, status, code] of callers) {
      const answers: HttpAnswer[] = [];
      for (const req of requestsFor(found)) {
        const key = 'key' in auth ? (auth.key as string) : undefined;
        const headers = { ...req.headers, ...('key' in auth ? {} : auth) };
        const res = remember(await call(app, found.method, req.path, { key, body: req.body, headers }));
        expect([who, res.status, res.headers.get('content-type')]).toEqual([who, status, expect.stringMatching(/^application\/problem\+json/)]);
        expect([who, res.body.code]).toEqual([who, code]);
        if (status === 401) expect(res.headers.get('www-authenticate')).toBe('Bearer');
        answers.push(res);
      }
      // An existing and a missing resource get the same answer: nothing is revealed.
      for (const a of answers) expect(a.body).toEqual(answers[0].body);
    }
    expect(await snapshot(app.abono.ds)).toEqual(before);
  }

  it('a revoked key and a key that never existed get the same answer', async () => {
    const revoked = remember(await call(app, 'GET', `/v1/credits/${creditId}`, { key: revokedAdmin }));
    const unknown = remember(await call(app, 'GET', `/v1/credits/${creditId}`, { key: `abono_${randomBytes(32).toString('base64url')}` }));
    expect(revoked.status).toBe(401);
    expect(revoked.body).toEqual(unknown.body);
  });

  it('never answers with a key or a key hash', async () => {
    // A few more answers that carry the actor (key id and name): the payment, its audit trail, the credit's payments.
    remember(await call(app, 'GET', `/v1/payments/${paymentId}`, { key: app.keys.viewer }));
    remember(await call(app, 'GET', `/v1/credits/${creditId}/payments`, { key: app.keys.viewer }));
    remember(await call(app, 'GET', `/v1/reports/portfolio`, { key: app.keys.viewer }));
    const everything = seen.join('\n');
    expect(everything).toContain('test-operator'); // the actor is there, by id and name
    const hashes: Array<{ key_hash: string }> = await app.abono.ds.query(`SELECT key_hash FROM api_keys`);
    for (const { key_hash } of hashes) expect(everything).not.toContain(key_hash);
    for (const key of [...Object.values(app.keys), revokedAdmin]) {
      expect(everything).not.toContain(key);
      expect(everything).not.toContain(hashApiKey(key));
    }
  });
});

describe('the key cache', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ API_KEY_CACHE_MS: '300' });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('a key revoked by another process stops working within API_KEY_CACHE_MS', async () => {
    const k = await createApiKey(app.abono.ds, 'elsewhere', 'viewer');
    expect((await call(app, 'GET', '/v1/payments/' + randomUUID(), { key: k.key })).status).toBe(404);
    // As `npm run cli -- keys revoke` in another process would: straight in the database.
    await app.abono.ds.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [k.id]);
    await new Promise((r) => setTimeout(r, 400));
    const res = await call(app, 'GET', '/v1/payments/' + randomUUID(), { key: k.key });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
  });

  it('records last_used_at once, not on every request', async () => {
    const k = await createApiKey(app.abono.ds, 'counted', 'viewer');
    const lastUsed = async () => (await app.abono.ds.query(`SELECT last_used_at FROM api_keys WHERE id = $1`, [k.id]))[0].last_used_at as Date | null;
    expect(await lastUsed()).toBeNull();
    await call(app, 'GET', '/v1/payments/' + randomUUID(), { key: k.key });
    let first: Date | null = null;
    for (let i = 0; i < 50 && !first; i++) {
      await new Promise((r) => setTimeout(r, 20));
      first = await lastUsed();
    }
    expect(first).toBeInstanceOf(Date);
    for (let i = 0; i < 5; i++) await call(app, 'GET', '/v1/payments/' + randomUUID(), { key: k.key });
    await new Promise((r) => setTimeout(r, 100));
    expect((await lastUsed())!.getTime()).toBe(first!.getTime());
  });
});
