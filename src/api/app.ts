import express, { NextFunction, Request, Response } from 'express';
import pinoHttp from 'pino-http';
import swaggerUi from 'swagger-ui-express';
import type { Client } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import type { Logger } from '../logger';
import type { PaymentDeps } from '../client/payments';
import { errorHandler, sendProblem } from './problem';
import { openApiDocument } from './openapi';
import { creditRoutes } from './routes/credits';
import { paymentRoutes } from './routes/payments';
import { applySecurity, type SecurityOptions } from './security';
import { configureApiKeyCache } from '../db/api-keys';
import { recalculationRoutes } from './routes/recalculations';
import type { RecalculationDeps } from '../client/recalculations';
import { reportRoutes } from './routes/reports';
import { httpMetrics } from '../observability/metrics';
import { logIdsOf } from '../observability/log-context';
import { operationsRoutes } from './routes/operations';
import { dashboardRoutes } from './routes/dashboard';
import { paymentBatchRoutes, paymentFileUpload } from './routes/payment-batches';
import type { PaymentBatchDeps } from '../client/payment-batches';
import type { ImportDeps } from '../client/imports';
import { importRoutes, importUpload } from './routes/imports';
import { scrubbedRequest } from './log-scrubbing';
import { lowerCaseBodyIds, lowerCaseUrlIds } from './uuid-case';
import { codecRoutes, type CodecServerOptions } from './codec-server';

export interface ApiContext {
  ds: DataSource;
  client: Client;
  log: Logger;
  timeZone: string;
  payments: PaymentDeps;
  /** Rate limits, CORS, proxy trust (defaults when absent); see src/api/security.ts. */
  security?: SecurityOptions & { apiKeyCacheMs?: number; metricsToken?: string };
  recalculations: RecalculationDeps;
  paymentBatches: PaymentBatchDeps;
  imports: ImportDeps;
  /** POST /codec/decode and /codec/encode for the Temporal UI (src/api/codec-server.ts). */
  codec?: CodecServerOptions;
}

/** How long /ready waits for PostgreSQL and for Temporal. */
const READY_CHECK_TIMEOUT_MS = 2000;

async function checkReady(ctx: ApiContext): Promise<Record<string, string>> {
  const checks: Record<string, string> = {};
  const withTimeout = <T>(p: Promise<T>) => Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), READY_CHECK_TIMEOUT_MS))]);
  await Promise.all([
    withTimeout(ctx.ds.query('SELECT 1')).then(() => (checks.database = 'ok'), (e) => (checks.database = `unreachable: ${e.message}`)),
    withTimeout(ctx.client.workflowService.getSystemInfo({})).then(() => (checks.temporal = 'ok'), (e) => (checks.temporal = `unreachable: ${e.message}`)),
  ]);
  return checks;
}

/** The Express app: thin routes over the services; errors become problem+json. */
export function createApp(ctx: ApiContext) {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(
    pinoHttp({
      logger: ctx.log,
      customProps: logIdsOf,
      autoLogging: { ignore: (req) => req.url === '/health' || req.url === '/metrics' },
      // The answer's status is what an operator needs; its headers are the same security headers on every line.
      // Security: credentials sent anywhere in a request are scrubbed from its line (src/api/log-scrubbing.ts).
      serializers: { req: scrubbedRequest, res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }) },
    }),
  );
  app.use(httpMetrics());
  applySecurity(app, ctx.ds, ctx.security);
  if (ctx.security?.apiKeyCacheMs !== undefined) configureApiKeyCache(ctx.ds, { ttlMs: ctx.security.apiKeyCacheMs });
  // Security: the Temporal UI's codec endpoint, before the API's JSON limit (src/api/codec-server.ts).
  if (ctx.codec) app.use(codecRoutes(ctx.ds, ctx.codec));
  app.use(lowerCaseUrlIds); // Security: ids in one form (src/api/uuid-case.ts)
  app.use(express.json({ limit: '16kb', strict: true }));
  app.use(lowerCaseBodyIds);

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', async (_req, res) => {
    const checks = await checkReady(ctx);
    const down = Object.entries(checks).filter(([, v]) => v !== 'ok');
    if (down.length === 0) return res.json({ status: 'ready', checks });
    res.setHeader('Retry-After', '5');
    return sendProblem(res, { status: 503, code: 'NOT_READY', title: 'Not ready', detail: down.map(([k, v]) => `${k} ${v}`).join('; '), checks });
  });
  const doc = openApiDocument();
  app.get('/openapi.json', (_req, res) => {
    res.json(doc);
  });
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(doc));

  // A payment file is the one body that is not JSON: its route reads the stream itself.
  app.use(paymentFileUpload(ctx));
  app.use(importUpload(ctx));
  // Write routes take JSON only.
  app.use('/v1', (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'POST' && !req.is('application/json')) {
      return sendProblem(res, { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', title: 'JSON only', detail: 'send the body as application/json' });
    }
    next();
  });
  app.use(creditRoutes(ctx));
  app.use(paymentRoutes(ctx));
  app.use(reportRoutes(ctx));
  app.use(recalculationRoutes(ctx));
  app.use(operationsRoutes(ctx));
  app.use(dashboardRoutes(ctx));
  app.use(paymentBatchRoutes(ctx));
  app.use(importRoutes(ctx));
  app.use((_req, res) => sendProblem(res, { status: 404, code: 'ROUTE_NOT_FOUND', title: 'Not found', detail: 'no such route' }));
  app.use(errorHandler(ctx.log));
  return app;
}
