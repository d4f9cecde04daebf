import { Router } from 'express';
import { z } from 'zod';
import { RECALCULATION_MODES, RECALCULATION_SCOPES } from '../../domain';
import { decideRecalculation, startRecalculation } from '../../client/recalculations';
import { getRecalculation } from '../../queries/recalculation-views';
import { bookVerification } from '../../queries/verification';
import type { ApiContext } from '../app';
import { actorOf, requireRole } from '../auth';
import { uuid } from '../schemas';
import { sendProblem } from '../problem';
import { decidedBySameKey } from '../../db/recalculation-runs';
import { SAME_APPROVER, sameApproverDetail } from '../../security/four-eyes';

export const StartRecalculationBody = z
  .strictObject({
    creditIds: z.array(uuid).min(1).max(10000).optional(),
    dryRun: z.boolean().optional(),
    mode: z.enum(RECALCULATION_MODES).optional(),
    scope: z.enum(RECALCULATION_SCOPES).optional(),
    chunkSize: z.number().int().min(1).max(10000).optional(),
    parallelism: z.number().int().min(1).max(16).optional(),
  })
  .refine((b) => !(b.dryRun !== undefined && b.mode !== undefined), { message: 'give either dryRun or mode, not both', path: ['mode'] })
  .refine((b) => !(b.creditIds && b.scope === 'INCREMENTAL'), { message: 'an INCREMENTAL batch chooses its own credits: give creditIds or scope INCREMENTAL, not both', path: ['scope'] })
  .openapi('StartRecalculation');

export const RecalculationApprovalBody = z.strictObject({ approve: z.boolean(), comment: z.string().max(500).optional() }).openapi('RecalculationApproval');

const RecalculationId = z.string().regex(/^recalculation-[A-Za-z0-9:_.\-]{1,120}$/, 'must be a recalculation id');
const VerificationQuery = z.object({ days: z.coerce.number().int().min(1).max(366).default(7) });
const PageQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100), after: uuid.optional() });

export function recalculationRoutes(ctx: ApiContext): Router {
  const r = Router();
  const { ds } = ctx;

  r.post('/v1/recalculations', requireRole(ds, 'admin'), async (req, res) => {
    const body = StartRecalculationBody.parse(req.body ?? {});
    const mode = body.mode ?? (body.dryRun === false ? 'CORRECT' : 'DRY_RUN');
    const id = await startRecalculation(ctx.recalculations, { mode, scope: body.scope, creditIds: body.creditIds, chunkSize: body.chunkSize, parallelism: body.parallelism }, actorOf(req));
    res.status(202).location(`/v1/recalculations/${id}`).json({ id, mode, scope: body.scope ?? 'FULL', status: 'RUNNING' });
  });

  r.get('/v1/verification', requireRole(ds, 'viewer'), async (req, res) => {
    const { days } = VerificationQuery.parse(req.query);
    res.json(await bookVerification(ds, days));
  });

  r.get('/v1/recalculations/:id', requireRole(ds, 'viewer'), async (req, res) => {
    const id = RecalculationId.parse(req.params.id);
    res.json(await getRecalculation(ctx.recalculations, id, PageQuery.parse(req.query)));
  });

  r.post('/v1/recalculations/:id/approval', requireRole(ds, 'admin'), async (req, res) => {
    const id = RecalculationId.parse(req.params.id);
    const { approve } = RecalculationApprovalBody.parse(req.body);
    // Security (four eyes): the key that started the batch may not decide it.
    if (await decidedBySameKey(ds, id, actorOf(req)!)) return sendProblem(res, { status: 403, code: SAME_APPROVER, title: 'Forbidden', detail: sameApproverDetail });
    await decideRecalculation(ctx.recalculations, id, approve, actorOf(req)!);
    res.json(await getRecalculation(ctx.recalculations, id, { limit: 100 }));
  });

  return r;
}
