import { DataSource, EntityManager } from 'typeorm';
import { Decimal, DomainError, PaymentStatus, canTransition, checkPayment, formatMoney, reversalRefusal, validatePaymentDate } from '../domain';
import type { PaymentOutcome, PaymentRequest, Refusal, ReversalRequest, Verdict, WorkflowRef } from '../workflows/types';
import { appendAudit, AuditEntry, auditStatement } from './audit';
import { loadSchedule } from './credits';
import { Appended, appendToLedger, lockCredit, lockCreditWithPayment, Placed, PLACEMENT_COLUMNS, PLACEMENT_TYPES, placementValues, rebuildFromLedger } from './ledger';
import { Columns, copyRows, rowsFrom, runAsOne, Statement } from './statement';
import { stateOf } from './rows';
import { recordedPaymentWithCredit } from './recorded-starts';
import { UNRECORDED_REQUEST, unrecordedDetail } from '../security/unrecorded-request';

/**
 * The one writer of payment rows: a payment's life from PENDING (or REJECTED) to APPLIED, FAILED or REVERSED,
 * each step one transaction with its audit entry. Its place in the ledger is written by ledger.ts, called from
 * here. Every step is idempotent: a retry after a commit whose answer was lost changes nothing.
 */

type Query = Pick<EntityManager, 'query'>;

/** The payment's status and credit (no lock): the one payment-status loader. */
export async function paymentStatusOf(q: Query, id: string): Promise<{ status: string; credit_id: string } | undefined> {
  const rows: Array<{ status: string; credit_id: string }> = await q.query(`SELECT status, credit_id FROM payments WHERE id = $1`, [id]);
  return rows[0];
}

async function lockPayment(m: EntityManager, id: string): Promise<{ status: string; credit_id: string; amount: string } | undefined> {
  const rows = await m.query(`SELECT status, credit_id, amount FROM payments WHERE id = $1 FOR UPDATE`, [id]);
  return rows[0];
}

/** A domain refusal as the workflow carries it; undefined for any other error. */
export function refusalOf(err: unknown): Refusal | undefined {
  if (err instanceof DomainError) return { code: err.code, detail: err.message, field: err.field, meta: err.meta };
  return undefined;
}

/** Read-only: would the domain accept this payment now (`today` in the lender's calendar)? */
export async function validatePayment(ds: DataSource, req: PaymentRequest, today: string): Promise<Verdict> {
  // Security: only the request the API recorded may move money (db/recorded-starts.ts).
  // One round trip: the record and the credit it names (the request's own, once the record matches it).
  const { recorded, credit } = await recordedPaymentWithCredit(ds, req);
  if (!recorded) return { ok: false, refusal: { code: UNRECORDED_REQUEST, detail: unrecordedDetail } };
  if (!credit) return { ok: false, refusal: { code: 'CREDIT_NOT_FOUND', detail: `credit ${req.creditId} does not exist`, field: 'creditId' } };
  try {
    validatePaymentDate(req.paymentDate, credit.start_date, today);
    checkPayment(await loadSchedule(ds.manager, credit), stateOf(credit), { amount: new Decimal(req.amount), paymentDate: req.paymentDate });
    return { ok: true };
  } catch (err) {
    const refusal = refusalOf(err);
    if (refusal) return { ok: false, refusal };
    throw err;
  }
}

/** The reversal's precondition, read without a lock (the reversal checks it again under its lock). */
export async function validateReversal(q: Query, paymentId: string): Promise<Verdict> {
  const refusal = reversalRefusal(paymentId, (await paymentStatusOf(q, paymentId))?.status);
  return refusal ? { ok: false, refusal } : { ok: true };
}

/** The payment row as PENDING; does nothing when it exists already. */
export async function recordPending(m: Query, req: PaymentRequest, wf: WorkflowRef): Promise<void> {
  await runAsOne(m, [paymentRowsStatement([{ req }], wf)]);
}

/** Records a refused payment as REJECTED with its reason; changes no credit. True when this call recorded it. */
export async function recordRejection(ds: DataSource, req: PaymentRequest, refusal: Refusal, wf: WorkflowRef): Promise<boolean> {
  return ds.transaction(async (m) => {
    const insert = paymentRowsStatement([{ req, refusal }], wf, { ifCreditExists: true });
    const inserted: unknown[] = await m.query(insert.sql, insert.params);
    let recorded = inserted.length > 0;
    if (!recorded) {
      // Refused at apply time (the row exists as PENDING): mark it, unless already terminal.
      const [, updated] = await m.query(`UPDATE payments SET status = 'REJECTED', reason_code = $2, reason = $3, completed_at = now() WHERE id = $1 AND status = 'PENDING'`, [
        req.paymentId,
        refusal.code,
        refusal.detail,
      ]);
      recorded = updated > 0;
    }
    await appendAudit(m, rejectedEntry(req, refusal, wf));
    return recorded;
  });
}

/** The audit entry of a refused payment, whichever way it came (alone, or a file's line with `more` saying which). */
export function rejectedEntry(req: PaymentRequest, refusal: Refusal, wf: WorkflowRef, more: Record<string, unknown> = {}): AuditEntry {
  const details = { amount: req.amount, paymentDate: req.paymentDate, ...refusal, ...more };
  return { action: 'payment.rejected', creditId: req.creditId, paymentId: req.paymentId, actor: req.actor, ...wf, dedupeKey: `payment:${req.paymentId}:rejected`, details };
}

/** The audit entry of an applied payment, whichever way it came (alone, or a file's line with `more` saying which). */
export function appliedEntry(req: PaymentRequest, r: Appended, balanceBefore: string, wf: WorkflowRef, more: Record<string, unknown> = {}): AuditEntry {
  const details = {
    amount: req.amount,
    ledgerSeq: r.seq,
    principal: formatMoney(r.allocation.principal),
    interest: formatMoney(r.allocation.interest),
    balanceBefore,
    balanceAfter: formatMoney(r.state.balance),
    statusAfter: r.state.status,
    ...more,
  };
  return { action: 'payment.applied', creditId: req.creditId, paymentId: req.paymentId, actor: req.actor, ...wf, dedupeKey: `payment:${req.paymentId}:applied`, details };
}

/**
 * One transaction: lock the credit, append the payment to its ledger (domain module), mark it APPLIED, audit.
 * A retry after a commit whose answer was lost finds the payment APPLIED and changes nothing.
 */
export async function applyPayment(ds: DataSource, req: PaymentRequest, wf: WorkflowRef): Promise<Verdict> {
  return ds.transaction(async (m) => {
    const { credit, paymentStatus } = await lockCreditWithPayment(m, req.creditId, req.paymentId);
    if (!credit || !paymentStatus) throw new Error(`payment ${req.paymentId} was not persisted before apply`);
    if (paymentStatus === 'APPLIED') return { ok: true } as const;
    if (paymentStatus !== 'PENDING') return { ok: false, refusal: { code: `PAYMENT_${paymentStatus}`, detail: `payment is ${paymentStatus}` } } as const;
    try {
      await appendToLedger(m, credit, { id: req.paymentId, amount: new Decimal(req.amount), paymentDate: req.paymentDate }, (r) => appliedEntry(req, r, credit.balance, wf));
    } catch (err) {
      const refusal = refusalOf(err);
      if (refusal) return { ok: false, refusal } as const;
      throw err;
    }
    return { ok: true } as const;
  });
}

/**
 * The workflow-level record (outcome, timings, ids), one statement: completed_at set once, the audit entry written
 * once (its dedupe key). True for the first run of this step: the one that counts.
 */
export async function recordCompletion(ds: DataSource, req: PaymentRequest, outcome: PaymentOutcome, timingsMs: Record<string, number>, wf: WorkflowRef): Promise<boolean> {
  const details = { outcome: outcome.status, timingsMs };
  const rows = await runAsOne<{ updated: number }>(
    ds,
    [
      { sql: `UPDATE payments SET completed_at = now() WHERE id = $1 AND completed_at IS NULL RETURNING id`, params: [req.paymentId] },
      auditStatement([{ action: 'payment.workflow_completed', creditId: req.creditId, paymentId: req.paymentId, actor: req.actor, ...wf, dedupeKey: `payment:${req.paymentId}:completed`, details }]),
    ],
    'SELECT count(*)::int AS updated FROM s0',
  );
  return rows[0].updated > 0;
}

/** Longest cause kept on a FAILED payment, in characters. */
const CAUSE_MAX_CHARS = 1000;

/**
 * Compensation: takes the payment out of the ledger if it was applied (the credit is rebuilt by the domain
 * recomputation), marks it FAILED with the cause, audits. Undefined when there was nothing to compensate.
 */
export async function compensatePayment(ds: DataSource, req: PaymentRequest, cause: string, wf: WorkflowRef): Promise<{ unapplied: boolean } | undefined> {
  return ds.transaction(async (m) => {
    const credit = await lockCredit(m, req.creditId);
    if (!credit) return undefined;
    // Failed before persist: record the payment so that it has a terminal state too.
    await recordPending(m, req, wf);
    const payment = await lockPayment(m, req.paymentId);
    // The status table decides: PENDING or APPLIED may fail; a payment already final (an operator's reversal that
    // won the race included) keeps its outcome.
    if (!payment || !canTransition(payment.status as PaymentStatus, 'FAILED')) return undefined;
    const unapplied = payment.status === 'APPLIED';
    await m.query(`UPDATE payments SET status = 'FAILED', reason_code = 'STEP_FAILED', reason = $2, ledger_seq = NULL, completed_at = now() WHERE id = $1`, [
      req.paymentId,
      cause.slice(0, CAUSE_MAX_CHARS),
    ]);
    const rebuilt = unapplied ? await rebuildFromLedger(m, credit) : undefined;
    const balanceAfter = rebuilt ? formatMoney(rebuilt.after.balance) : credit.balance;
    const details = { cause, unapplied, balanceBefore: credit.balance, balanceAfter };
    await appendAudit(m, { action: 'payment.compensated', creditId: req.creditId, paymentId: req.paymentId, actor: req.actor, ...wf, dedupeKey: `payment:${req.paymentId}:compensated`, details });
    return { unapplied };
  });
}

/**
 * Marks an APPLIED payment REVERSED and rebuilds its credit from the remaining ledger, in one transaction.
 * `reversed` is set when this call reversed it (a retry of a committed reversal answers ok without it).
 */
export async function reversePayment(ds: DataSource, req: ReversalRequest, wf: WorkflowRef): Promise<{ verdict: Verdict; reversed?: { creditId: string; amount: string } }> {
  return ds.transaction(async (m) => {
    const found = await paymentStatusOf(m, req.paymentId);
    if (!found) return { verdict: { ok: false, refusal: reversalRefusal(req.paymentId, undefined)! } };
    const credit = await lockCredit(m, found.credit_id);
    const payment = await lockPayment(m, req.paymentId);
    if (!credit || !payment) throw new Error('payment vanished');
    if (payment.status === 'REVERSED') {
      const mine = await m.query(`SELECT 1 FROM audit_log WHERE dedupe_key = $1`, [`payment:${req.paymentId}:reversed`]);
      if (mine.length > 0) return { verdict: { ok: true } };
    }
    const refusal = reversalRefusal(req.paymentId, payment.status);
    if (refusal) return { verdict: { ok: false, refusal } };
    await m.query(`UPDATE payments SET status = 'REVERSED', ledger_seq = NULL, reversed_at = now(), reversed_by = $2, reversal_reason = $3 WHERE id = $1`, [
      req.paymentId,
      req.actor,
      req.reason,
    ]);
    const { before, after } = await rebuildFromLedger(m, credit);
    const details = { reason: req.reason, balanceBefore: formatMoney(before.balance), balanceAfter: formatMoney(after.balance), statusBefore: before.status, statusAfter: after.status };
    await appendAudit(m, { action: 'payment.reversed', creditId: credit.id, paymentId: req.paymentId, actor: req.actor, ...wf, dedupeKey: `payment:${req.paymentId}:reversed`, details });
    return { verdict: { ok: true }, reversed: { creditId: credit.id, amount: payment.amount } };
  });
}

/** A payment row as written: PENDING (to be applied), REJECTED with its refusal, or APPLIED with its place in the ledger. */
export interface PaymentRow {
  req: PaymentRequest;
  refusal?: Refusal;
  placed?: Placed;
}

/**
 * The insert of payment rows, one statement for one or many: the one place that says what a new row holds in each
 * status (REJECTED: its reason, completed now; APPLIED: its place in the ledger, applied now). A row that exists is
 * left as it is (a retried step). `ifCreditExists` skips rows of an unknown credit. Answers the ids it inserted.
 */
function paymentRowsStatement(rows: PaymentRow[], wf: WorkflowRef, opts: { ifCreditExists?: boolean } = {}): Statement {
  const from = rowsFrom(paymentColumns(rows), 2);
  return {
    sql: `INSERT INTO payments (id, credit_id, idempotency_key, amount, payment_date, reference, status, reason_code, reason, actor, ${PLACEMENT_COLUMNS.join(', ')},
                                workflow_id, completed_at, applied_at)
          SELECT u.*, $1, CASE WHEN u.status = 'REJECTED' THEN now() END, CASE WHEN u.status = 'APPLIED' THEN now() END
            FROM ${from.sql}
           ${opts.ifCreditExists ? 'WHERE EXISTS (SELECT 1 FROM credits c WHERE c.id = u.credit_id)' : ''}
          ON CONFLICT (id) DO NOTHING RETURNING id`,
    params: [wf.workflowId, ...from.params],
  };
}

/** A new payment row's columns (what it holds in each status; the statement adds its workflow and times). */
function paymentColumns(rows: PaymentRow[]): Columns {
  const col = <T>(f: (r: PaymentRow) => T) => rows.map(f);
  const placement = rows.map((r) => placementValues(r.placed));
  return [
    ['id', 'uuid', col((r) => r.req.paymentId)],
    ['credit_id', 'uuid', col((r) => r.req.creditId)],
    ['idempotency_key', 'text', col((r) => r.req.idempotencyKey)],
    ['amount', 'numeric', col((r) => r.req.amount)],
    ['payment_date', 'date', col((r) => r.req.paymentDate)],
    ['reference', 'text', col((r) => r.req.reference)],
    ['status', 'text', col(paymentStatus)],
    ['reason_code', 'text', col((r) => r.refusal?.code ?? null)],
    ['reason', 'text', col((r) => r.refusal?.detail ?? null)],
    ['actor', 'text', col((r) => r.req.actor)],
    ...PLACEMENT_COLUMNS.map((c, i): [string, string, unknown[]] => [c, PLACEMENT_TYPES[i], placement.map((v) => v[i])]),
  ];
}

const paymentStatus = (r: PaymentRow) => (r.refusal ? 'REJECTED' : r.placed ? 'APPLIED' : 'PENDING');

/**
 * The payment rows of a chunk (a file's or an import's: thousands of payments that must be new), written once in
 * their final status (APPLIED with their place in the ledger, or REJECTED) by COPY, completed or applied at the
 * transaction's time. A retried chunk never gets here (its chunk row is found first).
 */
export async function copyPaymentRows(m: EntityManager, rows: PaymentRow[], wf: WorkflowRef): Promise<void> {
  if (rows.length === 0) return;
  const [{ now }]: Array<{ now: Date }> = await m.query(`SELECT now() AS now`);
  const status = rows.map(paymentStatus);
  await copyRows(m, 'payments', [
    ...paymentColumns(rows),
    ['workflow_id', 'text', rows.map(() => wf.workflowId)],
    ['completed_at', 'timestamptz', status.map((s) => (s === 'REJECTED' ? now : null))],
    ['applied_at', 'timestamptz', status.map((s) => (s === 'APPLIED' ? now : null))],
  ]);
}

/** A file's reversal: these payments, those still APPLIED, marked REVERSED (the caller rebuilds their credits). */
export async function markBatchReversed(m: Query, paymentIds: string[], actor: string | null, reason: string): Promise<Array<{ id: string; credit_id: string; amount: string }>> {
  // An UPDATE answers [rows, count] through TypeORM.
  const [rows] = await m.query(
    `UPDATE payments SET status = 'REVERSED', ledger_seq = NULL, reversed_at = now(), reversed_by = $2, reversal_reason = $3
      WHERE id = ANY($1::uuid[]) AND status = 'APPLIED' RETURNING id, credit_id, amount`,
    [paymentIds, actor, reason],
  );
  return rows;
}
