import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { type Abono, startAbono } from '../../src/abono';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { createApiKey } from '../../src/db/api-keys';
import { freshDatabase } from '../support/harness';
import { rawRequest } from '../support/raw-http';

/**
 * A key presented every way a client might try (valid or not, in the query string, in any
 * header, in the path) never reaches a log line, whatever the answer was.
 */
describe('no key in any log line', () => {
  const lines: string[] = [];
  let abono: Abono;
  let valid: string;

  beforeAll(async () => {
    const capture = new Writable({
      write(chunk, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const config = loadConfig({ ...process.env, PORT: '0', TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`, RECALC_SCHEDULE_ENABLED: 'false' });
    abono = await startAbono({ config, log: createLogger('trace', 'abono', capture), databaseUrl: await freshDatabase(), temporalAddress: process.env.TEMPORAL_ADDRESS! });
    valid = (await createApiKey(abono.ds, 'log-viewer', 'viewer')).key;
  });
  afterAll(async () => {
    await abono?.stop();
  });

  it('scrubs keys sent in the query string, in any header and in the path before logging', async () => {
    const invented = `abono_${randomUUID().replace(/-/g, '')}Zz`;
    const plain = `plain-secret-${randomUUID()}`; // a key without abono's prefix (ADMIN_API_KEY may be anything)
    const secrets = [valid, invented, plain];
    const path = `/v1/credits/${randomUUID()}`;
    for (const secret of secrets) {
      const ways: Array<{ target: string; headers: string[] }> = [
        { target: path, headers: [`Authorization: Bearer ${secret}`] },
        { target: path, headers: [`Authorization: ${secret}`] },
        { target: path, headers: [`Authorization: Basic ${Buffer.from(`user:${secret}`).toString('base64')}`] },
        { target: path, headers: [`Proxy-Authorization: Bearer ${secret}`] },
        { target: path, headers: [`X-API-Key: ${secret}`] },
        { target: path, headers: [`Api-Key: ${secret}`] },
        { target: path, headers: [`X-Auth-Token: ${secret}`] },
        { target: path, headers: [`X-Custom-Thing: ${secret}`] },
        { target: path, headers: [`Cookie: api_key=${secret}; session=${secret}`] },
        { target: path, headers: [`Referer: https://app.example.com/?api_key=${secret}`] },
        { target: path, headers: [`User-Agent: client ${secret}`] },
        { target: `${path}?api_key=${secret}`, headers: [] },
        { target: `${path}?apiKey=${secret}&limit=3`, headers: [] },
        { target: `${path}?key=${encodeURIComponent(secret)}`, headers: [] },
        { target: `${path}?token=${secret}`, headers: [] },
        { target: `${path}?access_token=${secret}`, headers: [] },
        { target: `${path}?anything=${secret}`, headers: [] },
        { target: `${path}?${secret}`, headers: [] },
        { target: `/v1/credits/${secret}`, headers: [] },
        { target: `/v1/credits/${secret}/payments?x=1`, headers: [`Authorization: Bearer ${valid}`] },
        { target: `/no-such-route/${secret}`, headers: [] },
      ];
      for (const way of ways) {
        const head = [`GET ${way.target} HTTP/1.1`, 'Host: 127.0.0.1', ...way.headers].join('\r\n');
        const answer = await rawRequest(abono.apiUrl!, head, '');
        expect(answer.status).toBeGreaterThanOrEqual(200);
      }
    }
    // Every request wrote its line (pino-http logs when the answer is finished).
    const deadline = Date.now() + 5000;
    while (lines.filter((l) => l.includes('"req":')).length < secrets.length * 21 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const requestLines = lines.filter((l) => l.includes('"req":'));
    expect(requestLines.length).toBeGreaterThanOrEqual(secrets.length * 21);

    for (const line of lines) {
      for (const secret of secrets) {
        expect(line).not.toContain(secret);
        expect(line).not.toContain(secret.slice(6, 26)); // nor a piece of one
        expect(line).not.toContain(encodeURIComponent(secret));
        expect(line).not.toContain(Buffer.from(`user:${secret}`).toString('base64').slice(0, 24));
      }
    }
    // The lines still say what was asked: method, path and which query parameters came.
    expect(requestLines.some((l) => l.includes(`"url":"${path}?apiKey=[redacted]&limit=3"`))).toBe(true);
    expect(requestLines.some((l) => l.includes('"x-api-key":"[redacted]"'))).toBe(true);
  });
});
