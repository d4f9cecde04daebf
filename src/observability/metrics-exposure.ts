/**
 * Metrics that do not leak. The API port's public GET /metrics carries process and HTTP figures
 * only; business figures (amounts, counts of payments, reversals and credits, recalculation
 * results) and the Temporal SDK's (workflow counts per type) go only to the metrics listener
 * (METRICS_HOST:METRICS_PORT, loopback by default) or to a scrape presenting METRICS_TOKEN.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { type Metric, Registry } from 'prom-client';
import { metricsContentType, metricsText, registry } from './metrics';

const PUBLIC = /^(process_|nodejs_|abono_http_)/;

let publicRegistry: Registry | undefined;

/** The public figures: the same metric objects, registered in a second registry (built on first scrape, when all exist). */
export async function publicMetricsText(): Promise<string> {
  if (!publicRegistry) {
    publicRegistry = new Registry();
    for (const m of registry.getMetricsAsArray()) if (PUBLIC.test(m.name)) publicRegistry.registerMetric(m as unknown as Metric);
  }
  return publicRegistry.metrics();
}

const digest = (v: string) => createHash('sha256').update(v).digest();

function tokenMatches(presented: string, token: string): boolean {
  return timingSafeEqual(digest(presented), digest(token));
}

/** GET /metrics on the API port: public figures; everything with `Authorization: Bearer <METRICS_TOKEN>`. */
export function metricsRoute(token: string | undefined) {
  return async (req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    const header = req.headers.authorization;
    if (header !== undefined) {
      const presented = /^Bearer (\S+)$/.exec(header)?.[1];
      if (!token || !presented || !tokenMatches(presented, token)) {
        res.setHeader('WWW-Authenticate', 'Bearer');
        return res.status(401).type('text/plain').send('the metrics token is not valid; omit Authorization for the public figures\n');
      }
      return res.type(metricsContentType).send(await metricsText());
    }
    res.type(metricsContentType).send(await publicMetricsText());
  };
}
