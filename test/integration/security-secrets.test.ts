import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { type Abono, startAbono } from '../../src/abono';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { createApiKey, hashApiKey } from '../../src/db/api-keys';
import { call, creditBody, freshDatabase } from '../support/harness';

/** Every string inside a Temporal history, payload bytes decoded, as one text. */
function historyText(value: unknown, out: string[] = []): string[] {
  if (value === null || value === undefined) return out;
  if (value instanceof Uint8Array) {
    out.push(Buffer.from(value).toString('utf8'), Buffer.from(value).toString('base64'));
  } else if (typeof value === 'string') {
    out.push(value);
  } else if (Array.isArray(value)) {
    for (const v of value) historyText(v, out);
  } else if (typeof value === 'object') {
    for (const v of Object.values(value as Record<string, unknown>)) historyText(v, out);
  }
  return out;
}

describe('secrets stay secret: logs and Temporal histories', () => {
  const lines: string[] = [];
  let abono: Abono;
  let databaseUrl: string;
  let app: { url: string };
  let keys: { admin: string; operator: string; viewer: string };

  beforeAll(async () => {
    // abono as the harness starts it, with its logs captured at debug level.
    const capture = new Writable({
      write(chunk, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    databaseUrl = await freshDatabase();
    const config = loadConfig({ ...process.env, PORT: '0', TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`, PAYMENT_WAIT_MS: '10000' });
    abono = await startAbono({
      config,
      log: createLogger('debug', 'abono', capture),
      databaseUrl,
      temporalAddress: process.env.TEMPORAL_ADDRESS!,
      temporalUiUrl: 'http://127.0.0.1:8233',
    });
    app = { url: abono.apiUrl! };
    keys = {
      admin: (await createApiKey(abono.ds, 'secret-admin', 'admin')).key,
      operator: (await createApiKey(abono.ds, 'secret-operator', 'operator')).key,
      viewer: (await createApiKey(abono.ds, 'secret-viewer', 'viewer')).key,
    };
  });
  afterAll(async () => {
    await abono?.stop();
  });

  it('keeps keys out of payment and reversal workflow histories (the actor is the key id and name)', async () => {
    const credit = await call(app, 'POST', '/v1/credits', { key: keys.admin, body: creditBody() });
    expect(credit.status).toBe(201);
    const paid = await call(app, 'POST', '/v1/payments', {
      key: keys.operator,
      headers: { 'idempotency-key': randomUUID() },
      body: { creditId: credit.body.id, amount: '100.00', paymentDate: '2026-02-01' },
    });
    expect(paid.status).toBe(201);
    const reversed = await call(app, 'POST', `/v1/payments/${paid.body.id}/reversal`, { key: keys.operator, body: { reason: 'bounced' } });
    expect(reversed.status).toBe(200);

    for (const workflowId of [`payment-${paid.body.id}`, `reversal-${paid.body.id}`]) {
      const history = await abono.client.workflow.getHandle(workflowId).fetchHistory();
      expect(history.events?.length).toBeGreaterThan(0);
      const text = historyText(history).join('\n');
      expect(text).toContain('secret-operator'); // the actor: key id and name
      for (const key of Object.values(keys)) {
        expect(text).not.toContain(key);
        expect(text).not.toContain(hashApiKey(key));
        expect(text).not.toContain(key.slice(6, 30)); // nor a piece of one
      }
    }
  });

  it('logs requests with the Authorization header redacted, and no bodies, keys, hashes or database URL', async () => {
    const marker = `body-marker-${randomUUID()}`;
    await call(app, 'GET', `/v1/credits/${randomUUID()}`, { key: keys.viewer });
    await call(app, 'GET', `/v1/credits/${randomUUID()}`, { key: `abono_wrong_${randomUUID()}` });
    await call(app, 'POST', '/v1/credits', { key: keys.admin, body: creditBody({ clientId: marker }) });
    await call(app, 'POST', '/v1/credits', { key: keys.admin, body: creditBody({ clientId: marker, principal: 'x' }) });
    await new Promise((r) => setTimeout(r, 200));

    const requestLines = lines.filter((l) => l.includes('"req":'));
    expect(requestLines.length).toBeGreaterThanOrEqual(4);
    expect(requestLines.some((l) => l.includes('"authorization":"[redacted]"'))).toBe(true);
    const all = lines.join('');
    for (const key of [...Object.values(keys), ...(abono.bootstrapAdminKey ? [abono.bootstrapAdminKey] : [])]) {
      expect(all).not.toContain(key);
      expect(all).not.toContain(hashApiKey(key));
    }
    expect(all).not.toContain('abono_wrong_');
    expect(all).not.toContain(marker);
    expect(all).not.toContain(databaseUrl);
  });

  it('redacts the secret-bearing fields wherever a caller might log them', () => {
    const out: string[] = [];
    const log = createLogger('info', 'abono', new Writable({ write: (c, _e, done) => (out.push(c.toString()), done()) }));
    log.info({ req: { headers: { authorization: 'Bearer abono_x', cookie: 'session=1' }, body: { amount: '1' } }, apiKey: 'abono_y', config: { password: 'hunter2', databaseUrl: 'postgres://u:hunter2@h/db' } }, 'x');
    const line = out.join('');
    for (const secret of ['abono_x', 'session=1', 'abono_y', 'hunter2']) expect(line).not.toContain(secret);
    expect(line).toContain('[redacted]');
  });
});
