import { Request, Response, Router } from 'express';
import { reversePayment, submitPayment } from '../../client/payments';
import { getPayment } from '../../queries/payment-views';
import type { ApiContext } from '../app';
import { actorOf, requireRole } from '../auth';
import { refusalStatus, sendProblem } from '../problem';
import { CreatePaymentBody, IdempotencyKey, ReversalBody, uuid } from '../schemas';
import { paymentLatency } from '../../observability/metrics';
import { setLogIds } from '../../observability/log-context';
import { paymentWorkflowId, reversalWorkflowId } from '../../workflows/types';

export function paymentRoutes(ctx: ApiContext): Router {
  const r = Router();
  const { ds } = ctx;

  r.post('/v1/payments', requireRole(ds, 'operator'), (req, res) => postPayment(ctx, req, res));

  r.get('/v1/payments/:id', requireRole(ds, 'viewer'), async (req, res) => {
    const payment = await getPayment(ctx.payments, uuid.parse(req.params.id));
    setLogIds(res, { paymentId: payment.id, creditId: payment.creditId, workflowId: payment.workflowId });
    res.json(payment);
  });

  r.post('/v1/payments/:id/reversal', requireRole(ds, 'operator'), async (req, res) => {
    const id = uuid.parse(req.params.id);
    setLogIds(res, { paymentId: id, workflowId: reversalWorkflowId(id) });
    const { reason } = ReversalBody.parse(req.body);
    const outcome = await reversePayment(ctx.payments, id, reason, actorOf(req));
    if (outcome.status === 'REFUSED') {
      return sendProblem(res, { status: 409, code: outcome.refusal.code, title: 'The reversal was refused', detail: outcome.refusal.detail, paymentId: id });
    }
    const payment = await getPayment(ctx.payments, id);
    setLogIds(res, { creditId: payment.creditId });
    return res.status(outcome.status === 'REVERSED' ? 200 : 202).location(`/v1/payments/${id}`).json(payment);
  });

  return r;
}

/** POST /v1/payments: the key and body checked, the payment submitted, its outcome answered (201, 202, 422, 500). */
async function postPayment(ctx: ApiContext, req: Request, res: Response) {
  const keyResult = IdempotencyKey.safeParse(req.headers['idempotency-key']);
  if (!keyResult.success) {
    const missing = !req.headers['idempotency-key'];
    const detail = keyResult.error.issues[0].message;
    return sendProblem(res, {
      status: 400,
      code: missing ? 'IDEMPOTENCY_KEY_REQUIRED' : 'IDEMPOTENCY_KEY_INVALID',
      title: 'The request is not valid',
      detail,
      errors: [{ field: 'Idempotency-Key', code: missing ? 'IDEMPOTENCY_KEY_REQUIRED' : 'IDEMPOTENCY_KEY_INVALID', detail }],
    });
  }
  const body = CreatePaymentBody.parse(req.body);
  const stopTimer = paymentLatency.startTimer();
  const answer = await submitPayment(ctx.payments, keyResult.data, body, actorOf(req));
  const paymentId = answer.kind === 'running' ? answer.paymentId : answer.payment.id;
  setLogIds(res, { paymentId, creditId: body.creditId, workflowId: paymentWorkflowId(paymentId) });
  if (answer.kind !== 'running' && !answer.replayed) stopTimer({ outcome: answer.payment.status });
  switch (answer.kind) {
    case 'applied':
      return res.status(201).location(`/v1/payments/${answer.payment.id}`).json(answer.payment);
    case 'running':
      return res
        .status(202)
        .location(`/v1/payments/${answer.paymentId}`)
        .json({ id: answer.paymentId, status: 'PROCESSING', detail: 'the payment is being processed; follow the Location header' });
    case 'rejected':
      return sendProblem(res, {
        status: refusalStatus(answer.payment.reasonCode ?? ''),
        code: answer.payment.reasonCode ?? 'PAYMENT_REJECTED',
        title: 'The payment was refused',
        detail: answer.payment.reason ?? 'refused',
        paymentId: answer.payment.id,
        paymentStatus: 'REJECTED',
        errors: fieldOf(answer.payment.reasonCode),
      });
    case 'failed':
      return sendProblem(res, {
        status: 500,
        code: 'PAYMENT_FAILED',
        title: 'The payment failed and was rolled back',
        detail: answer.payment.reason ?? 'a processing step failed for good; the credit is unchanged',
        paymentId: answer.payment.id,
        paymentStatus: 'FAILED',
      });
  }
}

const fieldOfCode: Record<string, string> = {
  AMOUNT_EXCEEDS_BALANCE: 'amount',
  AMOUNT_INVALID: 'amount',
  PAYMENT_DATE_INVALID: 'paymentDate',
  CREDIT_NOT_ACTIVE: 'creditId',
  CREDIT_NOT_FOUND: 'creditId',
};
function fieldOf(code: string | null) {
  const field = code ? fieldOfCode[code] : undefined;
  return field ? [{ field, code: code!, detail: `see ${field}` }] : undefined;
}
