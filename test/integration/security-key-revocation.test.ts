import { execFile } from 'node:child_process';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { createApiKey } from '../../src/db/api-keys';
import { call, startTestApp, TestApp } from '../support/harness';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

/** Two abono instances on one database, each with its own pool and key cache. */
describe('revocation everywhere at once', () => {
  let first: TestApp;
  let second: TestApp;
  let databaseUrl: string;
  beforeAll(async () => {
    first = await startTestApp({ API_KEY_CACHE_MS: '30000' });
    databaseUrl = (first.abono.ds.options as { url: string }).url;
    second = await startTestApp({ API_KEY_CACHE_MS: '30000', DATABASE_URL: databaseUrl });
  });
  afterAll(async () => {
    await second?.stop();
    await first?.stop();
  });

  it('a key revoked through the CLI stops working in every API process within 1 second', async () => {
    const { id, key } = await createApiKey(first.abono.ds, 'to-revoke', 'viewer');
    const path_ = `/v1/payments/${randomUUID()}`;
    // Both processes have looked the key up and cached it.
    for (const app of [first, second]) expect((await call(app, 'GET', path_, { key })).status).toBe(404);

    await run(path.join(ROOT, 'node_modules/.bin/tsx'), ['src/cli/main.ts', 'keys', 'revoke', id], { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl } });
    const revokedAt = Date.now();
    // Both processes are watched at once: each one's time is when it first answered 401.
    const refusedAfterMs = await Promise.all(
      [first, second].map(async (app) => {
        while ((await call(app, 'GET', path_, { key })).status !== 401) {
          if (Date.now() - revokedAt > 5000) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        return Date.now() - revokedAt;
      }),
    );
    expect(Math.max(...refusedAfterMs)).toBeLessThan(1000);
    // Other keys keep working in both.
    for (const app of [first, second]) expect((await call(app, 'GET', path_, { key: app.keys.viewer })).status).toBe(404);
  });
});
