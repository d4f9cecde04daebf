import { proxyLocalActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/payment-activities';
import { OperationStatus } from '../temporal/search-attributes';
import type { ReversalOutcome, ReversalRequest } from './types';
import { startIsRecorded, UNRECORDED_REQUEST, unrecordedDetail } from './recorded-start';

const steps = proxyLocalActivities<PaymentActivities>({
  startToCloseTimeout: '10 seconds',
  // Bounded: a reversal that cannot run for 5 minutes fails (nothing was changed: its one write is one transaction).
  scheduleToCloseTimeout: '5 minutes',
  retry: { initialInterval: '200 ms', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

/** validate → reverse (ledger, re-allocation, balance and audit in one transaction). */
export async function reversalWorkflow(req: ReversalRequest): Promise<ReversalOutcome> {
  const info = workflowInfo();
  const wf = { workflowId: info.workflowId, runId: info.runId };
  // Security: a start nobody recorded (made on Temporal directly) moves no money.
  const recorded = await startIsRecorded('reversal', req);
  const verdict = recorded ? await steps.validateReversal(req) : { ok: false as const, refusal: { code: UNRECORDED_REQUEST, detail: unrecordedDetail } };
  const done = verdict.ok ? await steps.reversePayment(req, wf) : verdict;
  const outcome: ReversalOutcome = done.ok
    ? { status: 'REVERSED', paymentId: req.paymentId }
    : { status: 'REFUSED', paymentId: req.paymentId, refusal: done.refusal };
  upsertSearchAttributes([{ key: OperationStatus, value: outcome.status }]);
  return outcome;
}
