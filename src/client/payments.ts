import { Client, WithStartWorkflowOperation, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { DataSource } from 'typeorm';
import { reversalRefusal, TERMINAL_PAYMENT_STATUSES, todayIn } from '../domain';
import { CreditId, OperationKind, OperationStatus, PaymentId } from '../temporal/search-attributes';
import { paymentOutcome, paymentWorkflow, reversalWorkflow } from '../workflows';
import { PaymentRequest, ReversalOutcome, paymentWorkflowId, reversalWorkflowId } from '../workflows/types';
import { findKey, forgetUnusedKey, paymentIdForKey, recordKey, requestHash } from '../db/idempotency-keys';

export { paymentIdForKey };
import { paymentStatusOf } from '../db/payments';
import { recordStart } from '../db/recorded-starts';
import { ConflictError, NotFoundError, UnavailableError } from '../errors';
import { loadPayment, PaymentView } from '../queries/payment-views';
import { rethrowUnavailable, TemporalUi, withinBudget } from './temporal';

export interface PaymentDeps extends TemporalUi {
  ds: DataSource;
  client: Client;
  /** The payments task queue (payments and reversals: sub-second work). */
  taskQueue: string;
  waitMs: number;
  timeZone: string;
}

export interface SubmitPaymentInput {
  creditId: string;
  amount: string;
  paymentDate?: string;
  reference?: string;
}

/** What the API answers: 201 applied, 422 refused, 202 still running, 500 failed and compensated. */
export type SubmissionAnswer = (
  | { kind: 'applied'; payment: PaymentView }
  | { kind: 'rejected'; payment: PaymentView }
  | { kind: 'failed'; payment: PaymentView }
  | { kind: 'running'; paymentId: string }
) & { /** The key's outcome was already known: this answer repeats it. */ replayed?: boolean };

/**
 * Idempotent submission. The key is recorded with the body's hash (a different body is a
 * 409), then the payment workflow is started with update-with-start and its outcome awaited
 * for at most `waitMs`: the answer comes back in one round trip when the worker is quick,
 * and as 202 when it is not (or when no worker is running).
 */
export async function submitPayment(deps: PaymentDeps, key: string, body: SubmitPaymentInput, actor: string | null): Promise<SubmissionAnswer> {
  const { ds } = deps;
  const hash = requestHash(body);
  const paymentId = paymentIdForKey(key);
  const fresh: PaymentRequest = {
    paymentId,
    creditId: body.creditId,
    amount: body.amount,
    paymentDate: body.paymentDate ?? todayIn(deps.timeZone),
    reference: body.reference ?? null,
    idempotencyKey: key,
    actor,
  };
  // The usual case in one round trip: a new key for an existing credit is recorded.
  if (await recordKey(ds, { key, requestHash: hash, request: fresh })) return startAndAwait(deps, fresh, true);

  const existing = await findKey(ds, key);
  if (!existing) throw new NotFoundError('CREDIT_NOT_FOUND', `credit ${body.creditId} does not exist`);
  if (existing.request_hash !== hash) throw new ConflictError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request body', 'Idempotency-Key');
  const answered = await terminalAnswer(ds, paymentId);
  if (answered) return { ...answered, replayed: true };
  return startAndAwait(deps, existing.request, false);
}

function startOptionsFor(deps: PaymentDeps, request: PaymentRequest) {
  return {
    workflowId: paymentWorkflowId(request.paymentId),
    taskQueue: deps.taskQueue,
    args: [request] as [PaymentRequest],
    workflowIdConflictPolicy: 'USE_EXISTING' as const,
    // A run that completed is final; one an operator terminated (or that failed outside the
    // saga) may be started again by resending the key: every step is idempotent.
    workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY' as const,
    typedSearchAttributes: [
      { key: CreditId, value: request.creditId },
      { key: PaymentId, value: request.paymentId },
      { key: OperationKind, value: 'payment' },
      { key: OperationStatus, value: 'RUNNING' },
    ],
  };
}

/**
 * How long confirming that a workflow exists may take. It waits on Temporal alone, not on a
 * worker, so it gets its own budget: under a burst a start can take longer than a short
 * wait budget, and answering 503 for a payment that is in fact running would be wrong.
 */
const CONFIRM_START_MS = 10_000;

const RETRY_WITH_KEY = 'the workflow service is unreachable; retry with the same Idempotency-Key';

/** Runs `call` within the payment's wait budget (or `budgetMs`); undefined when it ran out. */
function withinWait<T>(deps: PaymentDeps, call: () => Promise<T>, budgetMs = deps.waitMs): Promise<T | undefined> {
  return withinBudget(deps.client, budgetMs, call, RETRY_WITH_KEY);
}

/**
 * The first request for a key starts the workflow with update-with-start and gets the
 * outcome in the same round trip; repeats of the key join the same workflow and wait for
 * its result (so a burst of duplicates does not pile updates onto one workflow).
 */
async function startAndAwait(deps: PaymentDeps, request: PaymentRequest, first: boolean): Promise<SubmissionAnswer> {
  try {
    return await startOrJoin(deps, request, first);
  } catch (err) {
    // Temporal unreachable: the key's record goes too, so nothing is left half-recorded; the
    // client retries with the same key (a workflow that did start is joined then).
    if (first && err instanceof UnavailableError) {
      await forgetUnusedKey(deps.ds, request.idempotencyKey, request.paymentId);
    }
    throw err;
  }
}

async function startOrJoin(deps: PaymentDeps, request: PaymentRequest, first: boolean): Promise<SubmissionAnswer> {
  const { client, ds } = deps;
  const options = startOptionsFor(deps, request);
  try {
    if (first) {
      await withinWait(deps, () =>
        client.workflow.executeUpdateWithStart(paymentOutcome, { startWorkflowOperation: new WithStartWorkflowOperation(paymentWorkflow, options) }),
      );
    } else {
      // Joins the running workflow, or starts it if the first request never got that far.
      const handle = await withinWait(deps, () => client.workflow.start(paymentWorkflow, options));
      if (handle) await withinWait(deps, () => handle.result());
    }
  } catch (err) {
    // The workflow already completed, so its outcome is in the database.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  const answered = await terminalAnswer(ds, request.paymentId);
  if (answered) return answered;
  // Out of wait budget: a slow or absent worker (then the workflow exists: 202), or an
  // unreachable Temporal (then this start cannot be confirmed either: 503).
  try {
    const started = await withinWait(deps, () => client.workflow.start(paymentWorkflow, options), Math.max(deps.waitMs, CONFIRM_START_MS));
    if (!started) throw new UnavailableError('TEMPORAL_UNAVAILABLE', 'the workflow service did not answer; retry with the same Idempotency-Key');
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  return { kind: 'running', paymentId: request.paymentId };
}

async function terminalAnswer(ds: DataSource, paymentId: string): Promise<SubmissionAnswer | undefined> {
  const payment = await loadPayment(ds, paymentId);
  if (!payment || !TERMINAL_PAYMENT_STATUSES.has(payment.status)) return undefined;
  if (payment.status === 'REJECTED') return { kind: 'rejected', payment };
  if (payment.status === 'FAILED') return { kind: 'failed', payment };
  return { kind: 'applied', payment };
}

/** Starts (or joins) the reversal workflow and waits for it within the wait budget. */
export async function reversePayment(deps: PaymentDeps, paymentId: string, reason: string, actor: string | null): Promise<ReversalOutcome | { status: 'RUNNING'; paymentId: string }> {
  const payment = await paymentStatusOf(deps.ds, paymentId);
  const refusal = reversalRefusal(paymentId, payment?.status);
  if (refusal) throw refusal.code === 'PAYMENT_NOT_FOUND' ? new NotFoundError(refusal.code, refusal.detail) : new ConflictError(refusal.code, refusal.detail);
  const request = { paymentId, reason, actor };
  // Security: recorded before the start; the workflow runs only a recorded request.
  await recordStart(deps.ds, reversalWorkflowId(paymentId), 'reversal', request);
  let handle;
  try {
    handle = await deps.client.workflow.start(reversalWorkflow, {
      workflowId: reversalWorkflowId(paymentId),
      taskQueue: deps.taskQueue,
      args: [request],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [
        { key: CreditId, value: payment!.credit_id },
        { key: PaymentId, value: paymentId },
        { key: OperationKind, value: 'reversal' },
        { key: OperationStatus, value: 'RUNNING' },
      ],
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new ConflictError('PAYMENT_ALREADY_REVERSED', 'a reversal of this payment was already requested');
    return rethrowUnavailable(err);
  }
  try {
    return (await withinBudget(deps.client, deps.waitMs, () => handle.result())) ?? { status: 'RUNNING', paymentId };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { status: 'RUNNING', paymentId };
    throw err;
  }
}
