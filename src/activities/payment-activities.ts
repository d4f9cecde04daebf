import { DataSource } from 'typeorm';
import { todayIn } from '../domain';
import * as payments from '../db/payments';
import type { PaymentOutcome, PaymentRequest, Refusal, ReversalRequest, Verdict, WorkflowRef } from '../workflows/types';
import { activityLog } from '../observability/activities';
import { amountApplied, compensationsTotal, moneyToFloat, paymentsTotal, reversalsTotal, reversedAmount } from '../observability/metrics';

export type { Verdict, WorkflowRef };

export interface ActivityDeps {
  ds: DataSource;
  timeZone: string;
}

function countRefusedReversal(refusal: Refusal, creditId?: string): void {
  reversalsTotal.inc({ outcome: 'REFUSED' });
  activityLog()
    .child({ creditId })
    .warn({ outcome: 'REFUSED', refusal }, `reversal refused: ${refusal.detail}`);
}

/**
 * The payment and reversal workflows' steps. Each calls one operation of db/payments.ts (which owns the
 * payment rows) and counts and logs what happened; the names are the workflows' activity types.
 */
export function createPaymentActivities(deps: ActivityDeps) {
  const { ds } = deps;
  return {
    /** Read-only: would the domain accept this payment now? Refusals are answers, not errors. */
    async validatePayment(req: PaymentRequest): Promise<Verdict> {
      return payments.validatePayment(ds, req, todayIn(deps.timeZone));
    },

    /** Records a refused payment as REJECTED with its reason; changes no credit. */
    async recordRejection(req: PaymentRequest, refusal: Refusal, wf: WorkflowRef): Promise<void> {
      if (!(await payments.recordRejection(ds, req, refusal, wf))) return;
      paymentsTotal.inc({ outcome: 'REJECTED' });
      activityLog().info({ outcome: 'REJECTED', amount: req.amount, reasonCode: refusal.code }, `payment rejected: ${refusal.detail}`);
    },

    /** Stores the payment as PENDING (idempotent on the payment id). */
    async persistPayment(req: PaymentRequest, wf: WorkflowRef): Promise<void> {
      await payments.recordPending(ds, req, wf);
    },

    /** Appends the payment to its credit's ledger (one transaction under the credit's lock). */
    async applyPayment(req: PaymentRequest, wf: WorkflowRef): Promise<Verdict> {
      return payments.applyPayment(ds, req, wf);
    },

    /** The workflow-level record: outcome, timings, workflow and run ids. */
    async recordPaymentOutcome(req: PaymentRequest, outcome: PaymentOutcome, timings: Record<string, number>, wf: WorkflowRef): Promise<void> {
      if (!(await payments.recordCompletion(ds, req, outcome, timings, wf))) return;
      if (outcome.status === 'APPLIED') {
        paymentsTotal.inc({ outcome: 'APPLIED' });
        amountApplied.inc(moneyToFloat(req.amount));
      }
      activityLog().info({ outcome: outcome.status, amount: req.amount, timingsMs: timings }, `payment ${outcome.status.toLowerCase()}`);
    },

    /** Compensation: the payment out of the ledger if it was in, FAILED with the cause, audited. */
    async compensatePayment(req: PaymentRequest, cause: string, wf: WorkflowRef): Promise<void> {
      const compensated = await payments.compensatePayment(ds, req, cause, wf);
      if (!compensated) return;
      paymentsTotal.inc({ outcome: 'FAILED' });
      compensationsTotal.inc({ unapplied: String(compensated.unapplied) });
      activityLog().error({ outcome: 'FAILED', amount: req.amount, cause, unapplied: compensated.unapplied }, 'payment failed: compensation ran, the credit is restored');
    },

    async validateReversal(req: ReversalRequest): Promise<Verdict> {
      const verdict = await payments.validateReversal(ds, req.paymentId);
      if (!verdict.ok) countRefusedReversal(verdict.refusal);
      return verdict;
    },

    async reversePayment(req: ReversalRequest, wf: WorkflowRef): Promise<Verdict> {
      const { verdict, reversed } = await payments.reversePayment(ds, req, wf);
      if (reversed) {
        reversalsTotal.inc({ outcome: 'REVERSED' });
        reversedAmount.inc(moneyToFloat(reversed.amount));
        activityLog().child({ creditId: reversed.creditId }).info({ outcome: 'REVERSED', amount: reversed.amount, reason: req.reason }, 'payment reversed');
      } else if (!verdict.ok) countRefusedReversal(verdict.refusal);
      return verdict;
    },
  };
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;
