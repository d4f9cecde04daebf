import {
  CancellationScope,
  condition,
  defineQuery,
  defineUpdate,
  isCancellation,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/payment-activities';
import { OperationStatus } from '../temporal/search-attributes';
import type { PaymentOutcome, PaymentRequest, Refusal } from './types';
import { auditUnrecordedStart, UNRECORDED_REQUEST } from './recorded-start';

// The database steps are short, so they run as local activities: the whole payment
// usually completes inside one workflow task, and the API gets its answer in one round trip.
const steps = proxyLocalActivities<PaymentActivities>({
  startToCloseTimeout: '10 seconds',
  scheduleToCloseTimeout: '2 minutes',
  retry: { initialInterval: '200 ms', backoffCoefficient: 2, maximumInterval: '5 seconds' },
});

// A compensation must finish: it retries for as long as an outage may last. The bound (a week) only turns a
// compensation that can never succeed into a failed workflow an operator sees; resending the key runs it again.
const compensations = proxyLocalActivities<PaymentActivities>({
  startToCloseTimeout: '10 seconds',
  scheduleToCloseTimeout: '7 days',
  retry: { initialInterval: '500 ms', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

/** Waits for and returns the payment's terminal outcome (the API's update-with-start). */
export const paymentOutcome = defineUpdate<PaymentOutcome>('paymentOutcome');
/** Where the payment is: validating, persisting, applying, auditing, compensating, or its outcome. */
export const paymentStage = defineQuery<string>('paymentStage');

/** validate → persist → apply → audit; a step that fails for good after persist is compensated. */
export async function paymentWorkflow(req: PaymentRequest): Promise<PaymentOutcome> {
  let outcome: PaymentOutcome | undefined;
  let stage = 'validating';
  setHandler(paymentOutcome, () => condition(() => outcome !== undefined).then(() => outcome!));
  setHandler(paymentStage, () => stage);

  const info = workflowInfo();
  const wf = { workflowId: info.workflowId, runId: info.runId };
  const started = Date.now(); // workflow time: deterministic on replay
  const timings: Record<string, number> = {};
  // Synchronous, as every helper here that need not wait: each promise the workflow makes costs the SDK a stack trace.
  const settle = (o: PaymentOutcome): PaymentOutcome => {
    outcome = o;
    stage = o.status;
    upsertSearchAttributes([{ key: OperationStatus, value: o.status }]);
    return o;
  };

  const reject = async (refusal: Refusal): Promise<PaymentOutcome> => {
    await steps.recordRejection(req, refusal, wf);
    return settle({ status: 'REJECTED', paymentId: req.paymentId, refusal });
  };

  try {
    const verdict = await steps.validatePayment(req);
    timings.validated = Date.now() - started;
    // Security: validation first checks the API's record of this request; a start nobody recorded
    // (made on Temporal directly) moves no money and leaves no payment, only an audit entry.
    if (!verdict.ok && verdict.refusal.code === UNRECORDED_REQUEST) {
      await auditUnrecordedStart('payment', req);
      return settle({ status: 'REJECTED', paymentId: req.paymentId, refusal: verdict.refusal });
    }
    if (!verdict.ok) return await reject(verdict.refusal);
    stage = 'persisting';
    await steps.persistPayment(req, wf);
    stage = 'applying';
    const applied = await steps.applyPayment(req, wf);
    timings.applied = Date.now() - started;
    // The credit changed between validation and the locked apply (another payment): a refusal.
    if (!applied.ok) return await reject(applied.refusal);
    stage = 'auditing';
    await steps.recordPaymentOutcome(req, { status: 'APPLIED', paymentId: req.paymentId }, timings, wf);
    return settle({ status: 'APPLIED', paymentId: req.paymentId });
  } catch (err) {
    // Retries exhausted, a non-retryable failure, a timeout or a cancellation: undo what
    // was done (the compensation knows from the database whether the payment was applied).
    stage = 'compensating';
    const cause = isCancellation(err) ? 'cancelled by an operator' : describe(err);
    await CancellationScope.nonCancellable(() => compensations.compensatePayment(req, cause, wf));
    return settle({ status: 'FAILED', paymentId: req.paymentId, cause });
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}
