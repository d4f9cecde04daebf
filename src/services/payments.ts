import { createHash } from 'node:crypto';
import { Client, WithStartWorkflowOperation, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { DataSource } from 'typeorm';
import { todayIn } from '../domain';
import { CreditId, OperationKind, OperationStatus, PaymentId } from '../temporal/search-attributes';
import { paymentOutcome, paymentWorkflow, reversalWorkflow } from '../workflows';
import { PaymentOutcome, PaymentRequest, ReversalOutcome, paymentWorkflowId, reversalWorkflowId } from '../workflows/types';
import { findCredit } from './credits';
import { ConflictError, NotFoundError, UnavailableError } from './errors';
import { recordStart } from '../security/recorded-starts';

export interface PaymentDeps {
  ds: DataSource;
  client: Client;
  taskQueue: string;
  waitMs: number;
  timeZone: string;
  temporalUiUrl?: string;
  namespace: string;
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

/** The payment id is derived from the idempotency key, so one key is one payment and one workflow. */
export function paymentIdForKey(key: string): string {
  const h = createHash('sha256').update(`abono:payment:${key}`).digest('hex');
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function requestHash(body: SubmitPaymentInput): string {
  const canonical = JSON.stringify([body.creditId, body.amount, body.paymentDate ?? null, body.reference ?? null]);
  return createHash('sha256').update(canonical).digest('hex');
}

const TERMINAL = new Set(['APPLIED', 'REJECTED', 'FAILED', 'REVERSED']);

function isUnavailable(err: unknown): boolean {
  const e = err as { code?: number; message?: string };
  return e?.code === 14 || /UNAVAILABLE|ECONNREFUSED|Connection refused|deadline/i.test(e?.message ?? '');
}

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
  const inserted: unknown[] = await ds.query(
    `INSERT INTO idempotency_keys (key, request_hash, payment_id, credit_id, request, actor)
     SELECT $1,$2,$3,$4,$5,$6 WHERE EXISTS (SELECT 1 FROM credits WHERE id = $4)
     ON CONFLICT (key) DO NOTHING RETURNING key`,
    [key, hash, paymentId, body.creditId, JSON.stringify(fresh), actor],
  );
  if (inserted.length > 0) return startAndAwait(deps, fresh, true);

  const existing: Array<{ request_hash: string; request: PaymentRequest }> = await ds.query(`SELECT request_hash, request FROM idempotency_keys WHERE key = $1`, [key]);
  if (!existing[0]) throw new NotFoundError('CREDIT_NOT_FOUND', `credit ${body.creditId} does not exist`);
  if (existing[0].request_hash !== hash) throw new ConflictError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request body', 'Idempotency-Key');
  const answered = await terminalAnswer(ds, paymentId);
  if (answered) return { ...answered, replayed: true };
  return startAndAwait(deps, existing[0].request, false);
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

/** Runs `call` on the Temporal connection, abandoning it after `budgetMs` (undefined). */
async function withinBudget<T>(deps: PaymentDeps, call: () => Promise<T>, budgetMs = deps.waitMs): Promise<T | undefined> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), budgetMs);
  try {
    return await deps.client.connection.withAbortSignal(abort.signal, call);
  } catch (err) {
    if (abort.signal.aborted) return undefined;
    if (isUnavailable(err)) throw new UnavailableError('TEMPORAL_UNAVAILABLE', 'the workflow service is unreachable; retry with the same Idempotency-Key');
    throw err;
  } finally {
    clearTimeout(timer);
  }
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
      await deps.ds.query(`DELETE FROM idempotency_keys WHERE key = $1 AND NOT EXISTS (SELECT 1 FROM payments WHERE id = $2)`, [request.idempotencyKey, request.paymentId]).catch(() => undefined);
    }
    throw err;
  }
}

async function startOrJoin(deps: PaymentDeps, request: PaymentRequest, first: boolean): Promise<SubmissionAnswer> {
  const { client, ds } = deps;
  const options = startOptionsFor(deps, request);
  try {
    if (first) {
      await withinBudget(deps, () =>
        client.workflow.executeUpdateWithStart(paymentOutcome, { startWorkflowOperation: new WithStartWorkflowOperation(paymentWorkflow, options) }),
      );
    } else {
      // Joins the running workflow, or starts it if the first request never got that far.
      const handle = await withinBudget(deps, () => client.workflow.start(paymentWorkflow, options));
      if (handle) await withinBudget(deps, () => handle.result());
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
    const started = await withinBudget(deps, () => client.workflow.start(paymentWorkflow, options), Math.max(deps.waitMs, CONFIRM_START_MS));
    if (!started) throw new UnavailableError('TEMPORAL_UNAVAILABLE', 'the workflow service did not answer; retry with the same Idempotency-Key');
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  return { kind: 'running', paymentId: request.paymentId };
}

async function terminalAnswer(ds: DataSource, paymentId: string): Promise<SubmissionAnswer | undefined> {
  const payment = await loadPayment(ds, paymentId);
  if (!payment || !TERMINAL.has(payment.status)) return undefined;
  if (payment.status === 'REJECTED') return { kind: 'rejected', payment };
  if (payment.status === 'FAILED') return { kind: 'failed', payment };
  return { kind: 'applied', payment };
}

/** A payment's times as ISO-8601 UTC text, formatted by PostgreSQL: parsing them into Dates costs the
 * driver more than the rest of the row (measured over 1,000 payments: 8.8 ms with every column, 5.1 ms so). */
const isoTime = (column: string) => `to_char(p.${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column}`;

/** What a payment view reads of a payments row `p`. */
const PAYMENT_COLUMNS = `p.id, p.credit_id, p.amount, p.payment_date, p.reference, p.status, p.ledger_seq, p.principal_portion,
  p.interest_portion, p.installment_number, p.remaining_for_installment, p.balance_after, p.reason_code, p.reason, p.workflow_id,
  p.reversal_reason, ${isoTime('created_at')}, ${isoTime('applied_at')}, ${isoTime('reversed_at')}`;

interface PaymentRow {
  id: string;
  credit_id: string;
  amount: string;
  payment_date: string;
  reference: string | null;
  status: string;
  ledger_seq: number | null;
  principal_portion: string | null;
  interest_portion: string | null;
  installment_number: number | null;
  remaining_for_installment: string | null;
  balance_after: string | null;
  reason_code: string | null;
  reason: string | null;
  workflow_id: string;
  created_at: string;
  applied_at: string | null;
  reversed_at: string | null;
  reversal_reason: string | null;
}

export type PaymentView = Awaited<ReturnType<typeof paymentView>>;

function paymentView(p: PaymentRow, allocations: Array<Record<string, unknown>>) {
  return {
    id: p.id,
    creditId: p.credit_id,
    status: p.status,
    amount: p.amount,
    paymentDate: p.payment_date,
    reference: p.reference,
    ledgerSeq: p.ledger_seq,
    principalPortion: p.principal_portion,
    interestPortion: p.interest_portion,
    installmentNumber: p.installment_number,
    remainingForInstallment: p.remaining_for_installment,
    balanceAfter: p.balance_after,
    reasonCode: p.reason_code,
    reason: p.reason,
    allocations: allocations.map((a) => ({
      installmentNumber: a.installment_number,
      amount: a.amount,
      principal: a.principal,
      interest: a.interest,
      remainingForInstallment: a.remaining_for_installment,
    })),
    createdAt: p.created_at,
    appliedAt: p.applied_at,
    reversedAt: p.reversed_at,
    reversalReason: p.reversal_reason,
    workflowId: p.workflow_id,
  };
}

/** The payment and its allocation rows in one round trip. */
async function loadPayment(ds: DataSource, id: string): Promise<PaymentView | undefined> {
  const rows: Array<PaymentRow & { allocations: Array<Record<string, unknown>> }> = await ds.query(
    `SELECT ${PAYMENT_COLUMNS}, coalesce((SELECT json_agg(json_build_object('installment_number', a.installment_number, 'amount', a.amount::text,
                   'principal', a.principal::text, 'interest', a.interest::text, 'remaining_for_installment', a.remaining_for_installment::text)
                   ORDER BY a.installment_number) FROM payment_allocations a WHERE a.payment_id = p.id), '[]') AS allocations
       FROM payments p WHERE p.id = $1`,
    [id],
  );
  if (!rows[0]) return undefined;
  const { allocations, ...payment } = rows[0];
  return paymentView(payment, allocations);
}

function temporalLink(deps: Pick<PaymentDeps, 'temporalUiUrl' | 'namespace'>, workflowId: string): string | null {
  return deps.temporalUiUrl ? `${deps.temporalUiUrl}/namespaces/${encodeURIComponent(deps.namespace)}/workflows/${encodeURIComponent(workflowId)}` : null;
}

/** GET /v1/payments/:id: the payment, its allocation, its audit trail and its workflow. */
export async function getPayment(deps: PaymentDeps, id: string) {
  const { ds } = deps;
  const payment = await loadPayment(ds, id);
  const workflowId = paymentWorkflowId(id);
  if (!payment) {
    // Accepted by the API, not yet persisted by a worker.
    const accepted: Array<{ request: PaymentRequest; created_at: Date }> = await ds.query(`SELECT request, created_at FROM idempotency_keys WHERE payment_id = $1`, [id]);
    if (!accepted[0]) throw new NotFoundError('PAYMENT_NOT_FOUND', `payment ${id} does not exist`);
    const r = accepted[0].request;
    return {
      id,
      creditId: r.creditId,
      status: 'RECEIVED',
      amount: r.amount,
      paymentDate: r.paymentDate,
      reference: r.reference,
      createdAt: accepted[0].created_at.toISOString(),
      workflowId,
      temporalUrl: temporalLink(deps, workflowId),
      audit: [],
    };
  }
  const audit = await ds.query(
    `SELECT id, occurred_at AS "occurredAt", action, actor, workflow_id AS "workflowId", run_id AS "runId", details
       FROM audit_log WHERE payment_id = $1 ORDER BY id`,
    [id],
  );
  return { ...payment, temporalUrl: temporalLink(deps, workflowId), reversalTemporalUrl: payment.reversedAt ? temporalLink(deps, reversalWorkflowId(id)) : null, audit };
}

/**
 * GET /v1/credits/:id/payments in two queries whatever the number of payments, run side by side on two pooled
 * connections: the credit's payments in order (read in that order from the (credit_id, created_at, id) index, no
 * sort), and the credit's existence with all its allocation rows (grouped and ordered here in one pass). Measured
 * on a credit with 1,000 payments: a query joining the credit to its payments had PostgreSQL sort them (3.5 ms
 * against 0.3 ms), and one query with a json_agg per payment is slower still, its JSON parsed by the driver row by row.
 */
export async function listCreditPayments(ds: DataSource, creditId: string) {
  const [rows, allocations]: [PaymentRow[], Array<Record<string, unknown> & { found: string; payment_id: string | null; installment_number: number }>] = await Promise.all([
    ds.query(`SELECT ${PAYMENT_COLUMNS} FROM payments p WHERE p.credit_id = $1 ORDER BY p.created_at, p.id`, [creditId]),
    ds.query(
      `SELECT c.id AS found, a.payment_id, a.installment_number, a.amount, a.principal, a.interest, a.remaining_for_installment
         FROM credits c LEFT JOIN payment_allocations a ON a.credit_id = c.id
        WHERE c.id = $1`,
      [creditId],
    ),
  ]);
  if (allocations.length === 0) throw new NotFoundError('CREDIT_NOT_FOUND', `credit ${creditId} does not exist`);
  const byPayment = new Map<string, Array<Record<string, unknown> & { installment_number: number }>>();
  for (const a of allocations) {
    if (a.payment_id === null) continue; // the credit's row when it has no allocations
    const { found: _found, ...line } = a;
    const list = byPayment.get(a.payment_id);
    if (list) list.push(line);
    else byPayment.set(a.payment_id, [line]);
  }
  for (const list of byPayment.values()) if (list.length > 1) list.sort((x, y) => x.installment_number - y.installment_number);
  return { creditId, payments: rows.map((p) => paymentView(p, byPayment.get(p.id) ?? [])) };
}

/** Starts (or joins) the reversal workflow and waits for it within the wait budget. */
export async function reversePayment(deps: PaymentDeps, paymentId: string, reason: string, actor: string | null): Promise<ReversalOutcome | { status: 'RUNNING'; paymentId: string }> {
  const rows: Array<{ status: string; credit_id: string }> = await deps.ds.query(`SELECT status, credit_id FROM payments WHERE id = $1`, [paymentId]);
  if (!rows[0]) throw new NotFoundError('PAYMENT_NOT_FOUND', `payment ${paymentId} does not exist`);
  if (rows[0].status === 'REVERSED') throw new ConflictError('PAYMENT_ALREADY_REVERSED', 'the payment was already reversed');
  if (rows[0].status !== 'APPLIED') throw new ConflictError('PAYMENT_NOT_APPLIED', `only an APPLIED payment can be reversed; this one is ${rows[0].status}`);
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
        { key: CreditId, value: rows[0].credit_id },
        { key: PaymentId, value: paymentId },
        { key: OperationKind, value: 'reversal' },
        { key: OperationStatus, value: 'RUNNING' },
      ],
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new ConflictError('PAYMENT_ALREADY_REVERSED', 'a reversal of this payment was already requested');
    if (isUnavailable(err)) throw new UnavailableError('TEMPORAL_UNAVAILABLE', 'the workflow service is unreachable');
    throw err;
  }
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), deps.waitMs);
  try {
    return await deps.client.connection.withAbortSignal(abort.signal, () => handle.result());
  } catch (err) {
    if (abort.signal.aborted || err instanceof WorkflowNotFoundError) return { status: 'RUNNING', paymentId };
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
