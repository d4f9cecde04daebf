/**
 * What the waterfall reads of a schedule: as Decimals (a full Schedule is one) at the edges, and in exact
 * integer cents, which is what the waterfall computes with.
 */
import { Decimal, centsOf } from './money';
import type { ScheduledInstallment } from './schedule';

/**
 * What the waterfall reads of an instalment: its figures, and (the first instalment) its due date, the credit's
 * start date, before which no payment may be dated. A full ScheduledInstallment is one.
 */
export type LedgerInstallment = Pick<ScheduledInstallment, 'number' | 'amount' | 'principal' | 'cumulativeDue'> & { dueDate?: string };

/** What the waterfall (applyPayment, recompute) reads of a schedule. A full Schedule is one. */
export interface LedgerSchedule {
  totalAmount: Decimal;
  installments: readonly LedgerInstallment[];
}

/** A LedgerInstallment in cents. */
export interface CentsInstallment {
  number: number;
  amount: bigint;
  principal: bigint;
  /** D_k: Σ of amounts 1..k. */
  cumulativeDue: bigint;
  dueDate?: string;
}

/** A LedgerSchedule in cents. */
export interface CentsSchedule {
  totalAmount: bigint;
  installments: readonly CentsInstallment[];
}

// Schedules are values (never changed once built or loaded): one in cents per schedule object, so that a run of
// payments against one schedule (a file, an import) converts it once.
const inCents = new WeakMap<LedgerSchedule, CentsSchedule>();

/** The schedule in cents. */
export function centsScheduleOf(schedule: LedgerSchedule): CentsSchedule {
  let c = inCents.get(schedule);
  if (!c) {
    c = {
      totalAmount: centsOf(schedule.totalAmount),
      installments: schedule.installments.map((i) => ({
        number: i.number,
        amount: centsOf(i.amount),
        principal: centsOf(i.principal),
        cumulativeDue: centsOf(i.cumulativeDue),
        dueDate: i.dueDate,
      })),
    };
    inCents.set(schedule, c);
  }
  return c;
}

/** Largest k with D_k ≤ totalPaid (binary search over the cumulative schedule). */
export function paidInstallmentsForCents(schedule: CentsSchedule, totalPaid: bigint): number {
  const list = schedule.installments;
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (list[mid - 1].cumulativeDue <= totalPaid) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Largest k with D_k ≤ totalPaid. */
export function paidInstallmentsFor(schedule: LedgerSchedule, totalPaid: Decimal): number {
  return paidInstallmentsForCents(centsScheduleOf(schedule), centsOf(totalPaid));
}
