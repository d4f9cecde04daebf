import { ApplicationFailure } from '@temporalio/activity';
import { DataSource, EntityManager } from 'typeorm';
import { Decimal, DomainError, checkPayment, formatMoney, todayIn, validatePaymentDate } from '../domain';
import { stateOf } from '../db/rows';
import { appendAudit, auditStatement } from '../services/audit';
import { runAsOne } from '../db/statement';
import { findCredit } from '../services/credits';
import { appendToLedger, lockCredit, lockCreditWithPayment, rebuildFromLedger, loadSchedule } from '../services/ledger';
import type { PaymentOutcome, PaymentRequest, Refusal, ReversalRequest } from '../workflows/types';
import { activityLog } from '../observability/activities';
import { isRecordedPayment } from '../security/recorded-starts';
import { UNRECORDED_REQUEST, unrecordedDetail } from '../security/unrecorded-request';
import { amountApplied, compensationsTotal, moneyToFloat, paymentsTotal, reversalsTotal, reversedAmount } from '../observability/metrics';

export interface ActivityDeps {
  ds: DataSource;
  timeZone: string;
  /** Test configuration only: steps that fail for good, to exercise the compensation. */
  faults?: ReadonlySet<string>;
}

export type Verdict = { ok: true } | { ok: false; refusal: Refusal };

export interface WorkflowRef {
  workflowId: string;
  runId: string;
}

function refusalOf(err: unknown): Refusal | undefined {
  if (err instanceof DomainError) return { code: err.code, detail: err.message, field: err.field, meta: err.meta };
  return undefined;
}

function injectFault(deps: ActivityDeps, step: string) {
  if (deps.faults?.has(step)) throw ApplicationFailure.nonRetryable(`injected fault in ${step}`, 'InjectedFault');
}

async function lockPayment(m: EntityManager, id: string): Promise<{ status: string; credit_id: string } | undefined> {
  const rows = await m.query(`SELECT status, credit_id FROM payments WHERE id = $1 FOR UPDATE`, [id]);
  return rows[0];
}

/** The payment row as PENDING; does nothing when it exists already. */
async function insertPending(m: EntityManager, req: PaymentRequest, wf: WorkflowRef): Promise<void> {
  await m.query(
    `INSERT INTO payments (id, credit_id, idempotency_key, amount, payment_date, reference, status, workflow_id, actor)
     VALUES ($1,$2,$3,$4,$5,$6,'PENDING',$7,$8) ON CONFLICT (id) DO NOTHING`,
    [req.paymentId, req.creditId, req.idempotencyKey, req.amount, req.paymentDate, req.reference, wf.workflowId, req.actor],
  );
}

/** Small idempotent steps over the database; the payment and reversal workflows call them. */
export function createPaymentActivities(deps: ActivityDeps) {
  const { ds } = deps;

  const checkReversal = async (req: ReversalRequest): Promise<Verdict> => {
    const rows: Array<{ status: string }> = await ds.query(`SELECT status FROM payments WHERE id = $1`, [req.paymentId]);
    const status = rows[0]?.status;
    if (!status) return { ok: false, refusal: { code: 'PAYMENT_NOT_FOUND', detail: `payment ${req.paymentId} does not exist` } };
    if (status === 'REVERSED') return { ok: false, refusal: { code: 'PAYMENT_ALREADY_REVERSED', detail: 'the payment was already reversed' } };
    if (status !== 'APPLIED') return { ok: false, refusal: { code: 'PAYMENT_NOT_APPLIED', detail: `only an APPLIED payment can be reversed; this one is ${status}` } };
    return { ok: true };
  };

  return {
    /** Read-only: would the domain accept this payment now? Refusals are answers, not errors. */
    async validatePayment(req: PaymentRequest): Promise<Verdict> {
      injectFault(deps, 'validate');
      // Security: only the request the API recorded may move money (src/security/recorded-starts.ts).
      if (!(await isRecordedPayment(ds, req))) return { ok: false, refusal: { code: UNRECORDED_REQUEST, detail: unrecordedDetail } };
      const credit = await findCredit(ds, req.creditId);
      if (!credit) return { ok: false, refusal: { code: 'CREDIT_NOT_FOUND', detail: `credit ${req.creditId} does not exist`, field: 'creditId' } };
      try {
        validatePaymentDate(req.paymentDate, credit.start_date, todayIn(deps.timeZone));
        checkPayment(await loadSchedule(ds.manager, credit), stateOf(credit), { amount: new Decimal(req.amount), paymentDate: req.paymentDate });
        return { ok: true };
      } catch (err) {
        const refusal = refusalOf(err);
        if (refusal) return { ok: false, refusal };
        throw err;
      }
    },

    /** Records a refused payment as REJECTED with its reason; changes no credit. */
    async recordRejection(req: PaymentRequest, refusal: Refusal, wf: WorkflowRef): Promise<void> {
      let recorded = false;
      await ds.transaction(async (m) => {
        const inserted = await m.query(
          `INSERT INTO payments (id, credit_id, idempotency_key, amount, payment_date, reference, status, reason_code, reason, workflow_id, actor, completed_at)
           SELECT $1,$2,$3,$4,$5,$6,'REJECTED',$7,$8,$9,$10, now()
            WHERE EXISTS (SELECT 1 FROM credits WHERE id = $2)
           ON CONFLICT (id) DO NOTHING RETURNING id`,
          [req.paymentId, req.creditId, req.idempotencyKey, req.amount, req.paymentDate, req.reference, refusal.code, refusal.detail, wf.workflowId, req.actor],
        );
        recorded = inserted.length > 0;
        if (inserted.length === 0) {
          // Refused at apply time (the row exists as PENDING): mark it, unless already terminal.
          const [, updated] = await m.query(`UPDATE payments SET status = 'REJECTED', reason_code = $2, reason = $3, completed_at = now() WHERE id = $1 AND status = 'PENDING'`, [
            req.paymentId,
            refusal.code,
            refusal.detail,
          ]);
          recorded = updated > 0;
        }
        await appendAudit(m, {
          action: 'payment.rejected',
          creditId: req.creditId,
          paymentId: req.paymentId,
          actor: req.actor,
          ...wf,
          dedupeKey: `payment:${req.paymentId}:rejected`,
          details: { amount: req.amount, paymentDate: req.paymentDate, ...refusal },
        });
      });
      if (recorded) {
        paymentsTotal.inc({ outcome: 'REJECTED' });
        activityLog().info({ outcome: 'REJECTED', amount: req.amount, reasonCode: refusal.code }, `payment rejected: ${refusal.detail}`);
      }
    },

    /** Stores the payment as PENDING (idempotent on the payment id). */
    async persistPayment(req: PaymentRequest, wf: WorkflowRef): Promise<void> {
      injectFault(deps, 'persist');
      await insertPending(ds.manager, req, wf);
    },

    /**
     * One transaction: lock the credit, compute with the domain module, write the
     * allocations and the credit's new state, mark the payment APPLIED, audit. A retry
     * after a commit whose answer was lost finds the payment APPLIED and changes nothing.
     */
    async applyPayment(req: PaymentRequest, wf: WorkflowRef): Promise<Verdict> {
      injectFault(deps, 'apply');
      return ds.transaction(async (m) => {
        const { credit, paymentStatus } = await lockCreditWithPayment(m, req.creditId, req.paymentId);
        if (!credit || !paymentStatus) throw new Error(`payment ${req.paymentId} was not persisted before apply`);
        if (paymentStatus === 'APPLIED') return { ok: true } as const;
        if (paymentStatus !== 'PENDING') return { ok: false, refusal: { code: `PAYMENT_${paymentStatus}`, detail: `payment is ${paymentStatus}` } } as const;
        try {
          await appendToLedger(m, credit, { id: req.paymentId, amount: new Decimal(req.amount), paymentDate: req.paymentDate }, (r) => ({
            action: 'payment.applied',
            creditId: req.creditId,
            paymentId: req.paymentId,
            actor: req.actor,
            ...wf,
            dedupeKey: `payment:${req.paymentId}:applied`,
            details: {
              amount: req.amount,
              ledgerSeq: r.seq,
              principal: formatMoney(r.allocation.principal),
              interest: formatMoney(r.allocation.interest),
              balanceBefore: credit.balance,
              balanceAfter: formatMoney(r.state.balance),
              statusAfter: r.state.status,
            },
          }));
        } catch (err) {
          const refusal = refusalOf(err);
          if (refusal) return { ok: false, refusal } as const;
          throw err;
        }
        return { ok: true } as const;
      });
    },

    /** The workflow-level record: outcome, timings, workflow and run ids. */
    async recordPaymentOutcome(req: PaymentRequest, outcome: PaymentOutcome, timings: Record<string, number>, wf: WorkflowRef): Promise<void> {
      injectFault(deps, 'audit');
      let first = false;
      await ds.transaction(async (m) => {
        // completed_at is set once: the first run of this step is the one that counts the outcome.
        const [, updated] = await m.query(`UPDATE payments SET completed_at = now() WHERE id = $1 AND completed_at IS NULL`, [req.paymentId]);
        first = updated > 0;
        await appendAudit(m, {
          action: 'payment.workflow_completed',
          creditId: req.creditId,
          paymentId: req.paymentId,
          actor: req.actor,
          ...wf,
          dedupeKey: `payment:${req.paymentId}:completed`,
          details: { outcome: outcome.status, timingsMs: timings },
        });
      });
      if (first && outcome.status === 'APPLIED') {
        paymentsTotal.inc({ outcome: 'APPLIED' });
        amountApplied.inc(moneyToFloat(req.amount));
      }
      if (first) activityLog().info({ outcome: outcome.status, amount: req.amount, timingsMs: timings }, `payment ${outcome.status.toLowerCase()}`);
    },

    /**
     * Compensation: takes the payment out of the ledger if it was applied (the credit is
     * rebuilt by the domain recomputation), marks it FAILED with the cause, audits.
     */
    async compensatePayment(req: PaymentRequest, cause: string, wf: WorkflowRef): Promise<void> {
      let compensated: { unapplied: boolean } | undefined;
      await ds.transaction(async (m) => {
        const credit = await lockCredit(m, req.creditId);
        if (!credit) return;
        // Failed before persist: record the payment so that it has a terminal state too.
        await insertPending(m, req, wf);
        const payment = await lockPayment(m, req.paymentId);
        if (!payment || payment.status === 'FAILED' || payment.status === 'REJECTED') return;
        const wasApplied = payment.status === 'APPLIED';
        compensated = { unapplied: wasApplied };
        await m.query(
          `UPDATE payments SET status = 'FAILED', reason_code = 'STEP_FAILED', reason = $2, ledger_seq = NULL, completed_at = now() WHERE id = $1`,
          [req.paymentId, cause.slice(0, 1000)],
        );
        const rebuilt = wasApplied ? await rebuildFromLedger(m, credit) : undefined;
        await appendAudit(m, {
          action: 'payment.compensated',
          creditId: req.creditId,
          paymentId: req.paymentId,
          actor: req.actor,
          ...wf,
          dedupeKey: `payment:${req.paymentId}:compensated`,
          details: {
            cause,
            unapplied: wasApplied,
            balanceBefore: credit.balance,
            balanceAfter: rebuilt ? formatMoney(rebuilt.after.balance) : credit.balance,
          },
        });
      });
      if (compensated) {
        paymentsTotal.inc({ outcome: 'FAILED' });
        compensationsTotal.inc({ unapplied: String(compensated.unapplied) });
        activityLog().error({ outcome: 'FAILED', amount: req.amount, cause, unapplied: compensated.unapplied }, 'payment failed: compensation ran, the credit is restored');
      }
    },

    async validateReversal(req: ReversalRequest): Promise<Verdict> {
      const verdict = await checkReversal(req);
      if (!verdict.ok) {
        reversalsTotal.inc({ outcome: 'REFUSED' });
        activityLog().warn({ outcome: 'REFUSED', refusal: verdict.refusal }, `reversal refused: ${verdict.refusal.detail}`);
      }
      return verdict;
    },

    async reversePayment(req: ReversalRequest, wf: WorkflowRef): Promise<Verdict> {
      let reversed: { creditId: string; amount: string } | undefined;
      const verdict: Verdict = await ds.transaction(async (m) => {
        const rows: Array<{ credit_id: string; amount: string }> = await m.query(`SELECT credit_id, amount FROM payments WHERE id = $1`, [req.paymentId]);
        if (!rows[0]) return { ok: false, refusal: { code: 'PAYMENT_NOT_FOUND', detail: `payment ${req.paymentId} does not exist` } } as const;
        const credit = await lockCredit(m, rows[0].credit_id);
        const payment = await lockPayment(m, req.paymentId);
        if (!credit || !payment) throw new Error('payment vanished');
        if (payment.status === 'REVERSED') {
          const mine = await m.query(`SELECT 1 FROM audit_log WHERE dedupe_key = $1`, [`payment:${req.paymentId}:reversed`]);
          return mine.length > 0 ? ({ ok: true } as const) : ({ ok: false, refusal: { code: 'PAYMENT_ALREADY_REVERSED', detail: 'the payment was already reversed' } } as const);
        }
        if (payment.status !== 'APPLIED') return { ok: false, refusal: { code: 'PAYMENT_NOT_APPLIED', detail: `payment is ${payment.status}` } } as const;
        await m.query(
          `UPDATE payments SET status = 'REVERSED', ledger_seq = NULL, reversed_at = now(), reversed_by = $2, reversal_reason = $3 WHERE id = $1`,
          [req.paymentId, req.actor, req.reason],
        );
        const { before, after } = await rebuildFromLedger(m, credit);
        reversed = { creditId: credit.id, amount: rows[0].amount };
        await appendAudit(m, {
          action: 'payment.reversed',
          creditId: credit.id,
          paymentId: req.paymentId,
          actor: req.actor,
          ...wf,
          dedupeKey: `payment:${req.paymentId}:reversed`,
          details: {
            reason: req.reason,
            balanceBefore: formatMoney(before.balance),
            balanceAfter: formatMoney(after.balance),
            statusBefore: before.status,
            statusAfter: after.status,
          },
        });
        return { ok: true } as const;
      });
      const log = activityLog().child({ creditId: reversed?.creditId });
      if (reversed) {
        reversalsTotal.inc({ outcome: 'REVERSED' });
        reversedAmount.inc(moneyToFloat(reversed.amount));
        log.info({ outcome: 'REVERSED', amount: reversed.amount, reason: req.reason }, 'payment reversed');
      } else if (!verdict.ok) {
        reversalsTotal.inc({ outcome: 'REFUSED' });
        log.warn({ outcome: 'REFUSED', refusal: verdict.refusal }, `reversal refused: ${verdict.refusal.detail}`);
      }
      return verdict;
    },
  };
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;

