import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Request, Response, Router } from 'express';
import { todayIn } from '../../domain';
import { dashboardSummary } from '../../queries/dashboard';
import type { ApiContext } from '../app';
import { requireRole } from '../auth';

// The page is static: HTML, one stylesheet, ES modules (no inline script or handler, so a CSP of
// `script-src 'self'` holds). Every file of the folder is read once at start; the API runs from its sources
// (tsx) or from dist/, where `npm run build` copies the folder. A new page is a new module in pages/.
const DIR = path.resolve(__dirname, '../dashboard');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
const FILES = new Map<string, { type: string; body: Buffer }>(
  (readdirSync(DIR, { recursive: true, encoding: 'utf8' }) as string[])
    .map((f) => f.split(path.sep).join('/'))
    .filter((f) => TYPES[path.extname(f)])
    .map((f) => [f, { type: TYPES[path.extname(f)], body: readFileSync(path.join(DIR, f)) }]),
);

/** GET /dashboard (the page and its files, no key: they hold no data) and GET /v1/dashboard/summary (viewer: the figures). */
export function dashboardRoutes(ctx: ApiContext): Router {
  const r = Router();
  const send = (res: Response, name: string) => {
    const f = FILES.get(name);
    if (!f) return false;
    res.setHeader('Cache-Control', 'no-cache');
    res.type(f.type).send(f.body);
    return true;
  };
  r.get(['/dashboard', '/dashboard/'], (_req, res) => void send(res, 'index.html'));
  r.get('/dashboard/*file', (req: Request, res, next) => {
    const parts = (req.params as unknown as { file: string[] }).file;
    if (!send(res, parts.join('/'))) next();
  });

  r.get('/v1/dashboard/summary', requireRole(ctx.ds, 'viewer'), async (_req, res) => {
    const ops = { client: ctx.client, namespace: ctx.payments.namespace, temporalUiUrl: ctx.payments.temporalUiUrl };
    res.setHeader('Cache-Control', 'no-store');
    res.json(await dashboardSummary(ctx.ds, ops, todayIn(ctx.timeZone), ctx.timeZone));
  });
  return r;
}
