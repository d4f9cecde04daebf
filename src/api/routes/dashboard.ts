import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Router } from 'express';
import { todayIn } from '../../domain';
import { dashboardSummary } from '../../queries/dashboard';
import type { ApiContext } from '../app';
import { requireRole } from '../auth';

// The page is static: HTML, one stylesheet, one script (no inline script or handler, so a CSP of
// `script-src 'self'` holds). Read once; the API runs from its sources (tsx), as in the Docker image.
const DIR = path.resolve(__dirname, '../dashboard');
const FILES: Record<string, { type: string; body: Buffer }> = {
  'index.html': { type: 'text/html; charset=utf-8', body: readFileSync(path.join(DIR, 'index.html')) },
  'app.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(path.join(DIR, 'app.js')) },
  'app.css': { type: 'text/css; charset=utf-8', body: readFileSync(path.join(DIR, 'app.css')) },
  'favicon.svg': { type: 'image/svg+xml', body: readFileSync(path.join(DIR, 'favicon.svg')) },
};

/** GET /dashboard (the page, no key: it holds no data) and GET /v1/dashboard/summary (viewer: the figures). */
export function dashboardRoutes(ctx: ApiContext): Router {
  const r = Router();
  const send = (name: string) => (_req: unknown, res: import('express').Response) => {
    const f = FILES[name];
    res.setHeader('Cache-Control', 'no-cache');
    res.type(f.type).send(f.body);
  };
  r.get(['/dashboard', '/dashboard/', '/dashboard/index.html'], send('index.html'));
  r.get('/dashboard/app.js', send('app.js'));
  r.get('/dashboard/app.css', send('app.css'));
  r.get('/dashboard/favicon.svg', send('favicon.svg'));

  r.get('/v1/dashboard/summary', requireRole(ctx.ds, 'viewer'), async (_req, res) => {
    const ops = { client: ctx.client, namespace: ctx.payments.namespace, temporalUiUrl: ctx.payments.temporalUiUrl };
    res.setHeader('Cache-Control', 'no-store');
    res.json(await dashboardSummary(ctx.ds, ops, todayIn(ctx.timeZone), ctx.timeZone));
  });
  return r;
}
