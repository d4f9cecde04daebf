import { Router } from 'express';
import { todayIn } from '../../domain';
import { createCredit } from '../../db/credits';
import { findCreditsByExternalId, getCreditAsOf, getSchedule } from '../../queries/credit-views';
import { listCreditPayments } from '../../queries/payment-views';
import { creditAuditTrail } from '../../queries/audit-trail';
import type { ApiContext } from '../app';
import { actorOf, requireRole } from '../auth';
import { AsOfQuery, AuditPageQuery, CreateCreditBody, CreditsQuery, uuid } from '../schemas';

export function creditRoutes(ctx: ApiContext): Router {
  const r = Router();
  const { ds } = ctx;

  r.post('/v1/credits', requireRole(ds, 'admin'), async (req, res) => {
    const body = CreateCreditBody.parse(req.body);
    const id = await createCredit(ds, body, actorOf(req));
    res.status(201).location(`/v1/credits/${id}`).json(await getCreditAsOf(ds, id, todayIn(ctx.timeZone)));
  });

  // The lender's loan number to the credit: a list of at most one, so "none" is an empty answer, not an error.
  r.get('/v1/credits', requireRole(ds, 'viewer'), async (req, res) => {
    const { externalId } = CreditsQuery.parse(req.query);
    res.json({ credits: await findCreditsByExternalId(ds, externalId) });
  });

  r.get('/v1/credits/:id', requireRole(ds, 'viewer'), async (req, res) => {
    const id = uuid.parse(req.params.id);
    const { asOf } = AsOfQuery.parse(req.query);
    res.json(await getCreditAsOf(ds, id, asOf ?? todayIn(ctx.timeZone)));
  });

  r.get('/v1/credits/:id/schedule', requireRole(ds, 'viewer'), async (req, res) => {
    res.json(await getSchedule(ds, uuid.parse(req.params.id)));
  });

  r.get('/v1/credits/:id/payments', requireRole(ds, 'viewer'), async (req, res) => {
    res.json(await listCreditPayments(ds, uuid.parse(req.params.id)));
  });

  // The credit's audit trail, newest first: what the dashboard's credit page shows under its payments.
  r.get('/v1/credits/:id/audit', requireRole(ds, 'viewer'), async (req, res) => {
    res.json(await creditAuditTrail(ds, uuid.parse(req.params.id), AuditPageQuery.parse(req.query)));
  });

  return r;
}
