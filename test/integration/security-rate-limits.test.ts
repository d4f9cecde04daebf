import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config';
import { startTestApp, TestApp } from '../support/harness';
import { rawRequest } from '../support/raw-http';

const WINDOW_MS = 5000;

/** A GET from a given loopback address (127.0.0.x), as a given client would. */
async function getFrom(app: TestApp, localAddress: string, path: string, key?: string) {
  const head = [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...(key ? [`Authorization: Bearer ${key}`] : [])].join('\r\n');
  return rawRequest(app.url, head, '', { localAddress });
}

describe('rate limits by role', () => {
  it('defaults fit real integrators: operators and admins at least 100 requests a second, viewers and unauthenticated addresses less', () => {
    const { security } = loadConfig({});
    const perSecond = (n: number) => (n * 1000) / security.rateLimitWindowMs;
    expect(perSecond(security.rateLimits.admin)).toBeGreaterThanOrEqual(100);
    expect(perSecond(security.rateLimits.operator)).toBeGreaterThanOrEqual(100);
    expect(security.rateLimits.viewer).toBeLessThan(security.rateLimits.operator);
    expect(security.rateLimits.anonymous).toBeLessThan(security.rateLimits.viewer);
    expect(() => loadConfig({ RATE_LIMIT_VIEWER_PER_SECOND: 'lots' })).toThrow(/RATE_LIMIT_VIEWER_PER_SECOND/);
  });

  describe('counting', () => {
    let app: TestApp;
    beforeAll(async () => {
      // Per window of 5 s: viewers 10, operators 25, unauthenticated 5 per address.
      app = await startTestApp({ RATE_LIMIT_WINDOW_MS: String(WINDOW_MS), RATE_LIMIT_VIEWER_PER_SECOND: '2', RATE_LIMIT_OPERATOR_PER_SECOND: '5', RATE_LIMIT_ADMIN_PER_SECOND: '5', RATE_LIMIT_ANONYMOUS_PER_SECOND: '1' });
    });
    afterAll(async () => {
      await app?.stop();
    });

    it("counts each key against its role's limit, whatever address it comes from, and unauthenticated requests per address", async () => {
      const path = `/v1/payments/${randomUUID()}`;
      // Unauthenticated (and unknown keys) from one address: 5, then 429 naming the address.
      const anonymous: number[] = [];
      for (let i = 0; i < 5; i++) anonymous.push((await getFrom(app, '127.0.0.31', path, i % 2 ? `abono_unknown_${randomUUID()}` : undefined)).status);
      expect(anonymous).toEqual(Array(5).fill(401));
      const flooded = await getFrom(app, '127.0.0.31', path);
      expect(flooded.status).toBe(429);
      expect(flooded.body).toMatchObject({ code: 'RATE_LIMITED' });
      expect(flooded.body.detail).toMatch(/address/);

      // A viewer key from that same address is counted on the key, not the address: 10, then 429.
      const viewer = await Promise.all(Array.from({ length: 10 }, (_, i) => getFrom(app, `127.0.0.${31 + (i % 3)}`, path, app.keys.viewer)));
      expect(viewer.map((r) => r.status)).toEqual(Array(10).fill(404));
      const viewerOver = await getFrom(app, '127.0.0.40', path, app.keys.viewer);
      expect(viewerOver.status).toBe(429);
      expect(viewerOver.body.detail).toMatch(/API key/);

      // An operator has more room than a viewer: 25 in the window.
      const operator = await Promise.all(Array.from({ length: 25 }, () => getFrom(app, '127.0.0.31', path, app.keys.operator)));
      expect(operator.map((r) => r.status)).toEqual(Array(25).fill(404));
      expect((await getFrom(app, '127.0.0.31', path, app.keys.operator)).status).toBe(429);
    });
  });
});
