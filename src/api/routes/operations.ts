import { Router } from 'express';
import { z } from 'zod';
import { metricsRoute } from '../../observability/metrics-exposure';
import { DEFAULT_STUCK_LIMIT, MAX_STUCK_LIMIT, OPERATION_KINDS, OperationKindName, findStuckOperations, parseDuration } from '../../queries/operations';
import type { ApiContext } from '../app';
import { requireRole } from '../auth';
import { uuid } from '../schemas';

export const StuckQuery = z.strictObject({
  olderThan: z
    .string({ error: 'olderThan is required, e.g. 60s (units: ms, s, m, h)' })
    .refine((v) => parseDuration(v) !== undefined, { message: 'olderThan must be a whole number followed by ms, s, m or h (e.g. 60s), at most 30 days' }),
  kind: z
    .string()
    .transform((v) => v.split(',').map((k) => k.trim()))
    .refine((ks) => ks.every((k) => (OPERATION_KINDS as readonly string[]).includes(k)), { message: `kind must be one or more of ${OPERATION_KINDS.join(', ')}` })
    .optional(),
  creditId: uuid.optional(),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, { message: `limit must be an integer from 1 to ${MAX_STUCK_LIMIT}` })
    .transform(Number)
    .pipe(z.number().int().min(1, { message: 'limit must be at least 1' }).max(MAX_STUCK_LIMIT, { message: `limit must be at most ${MAX_STUCK_LIMIT}` }))
    .optional(),
});

/** GET /metrics (Prometheus, no key) and GET /v1/operations/stuck (viewer). */
export function operationsRoutes(ctx: ApiContext): Router {
  const r = Router();

  // Security: public figures only, unless the metrics token is presented (src/observability/metrics-exposure.ts).
  r.get('/metrics', metricsRoute(ctx.security?.metricsToken));

  r.get('/v1/operations/stuck', requireRole(ctx.ds, 'viewer'), async (req, res) => {
    const q = StuckQuery.parse(req.query);
    const result = await findStuckOperations(
      { client: ctx.client, namespace: ctx.payments.namespace, temporalUiUrl: ctx.payments.temporalUiUrl },
      { olderThanMs: parseDuration(q.olderThan)!, kinds: q.kind as OperationKindName[] | undefined, creditId: q.creditId, limit: q.limit ?? DEFAULT_STUCK_LIMIT },
    );
    res.setHeader('Cache-Control', 'no-store');
    res.json({ olderThan: q.olderThan, ...result });
  });

  return r;
}
