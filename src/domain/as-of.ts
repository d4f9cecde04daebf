/**
 * Figures derived as of a date D (DESIGN.md §3, the seeds' dynamic methods), from the persisted
 * state only — no per-payment queries.
 *
 * Due-date convention (see schedule.ts): instalment i is due on startDate + (i − 1)·periodDays, so
 * expected − 1 = number of instalments due strictly before D, and overdueInstallments = number of
 * unpaid instalments due before D (until the last due date; the cap at n then keeps the last
 * instalment as the one of grace, as the design's formula says).
 */
import { Decimal } from './money';
import { daysBetween, parseDate } from './dates';
import { CreditTerms, Schedule, cumulativeDue } from './schedule';
import { CreditState } from './waterfall';
import { ArrearsBucket, arrearsBucketOf } from './status';

export interface AsOfFigures {
  asOf: string;
  expectedInstallments: number;
  pendingInstallments: number;
  overdueInstallments: number;
  overdueAmount: Decimal;
  nextDueDate: string | null;
  nextDueAmount: Decimal | null;
  arrearsBucket: ArrearsBucket;
}

/** The seed's expectedInstallments: 0 before startDate, else min(n, ceil(days / periodDays) + 1). */
export function expectedInstallments(terms: CreditTerms, asOf: string): number {
  const days = daysBetween(terms.startDate, asOf);
  if (days < 0) return 0;
  return Math.min(terms.installments, Math.ceil(days / terms.periodDays) + 1);
}

export function figuresAsOf(terms: CreditTerms, schedule: Schedule, state: CreditState, asOf: string): AsOfFigures {
  parseDate(asOf, 'asOf');
  const expected = expectedInstallments(terms, asOf);
  const pending = Math.max(0, expected - state.paidInstallments);
  const overdue = Math.max(0, pending - 1);
  const owed = cumulativeDue(schedule, expected - 1).minus(state.totalPaid);
  const overdueAmount = owed.gt(0) ? owed : new Decimal(0);
  const next = schedule.installments[state.paidInstallments]; // first not fully paid (0-based index)
  return {
    asOf,
    expectedInstallments: expected,
    pendingInstallments: pending,
    overdueInstallments: overdue,
    overdueAmount,
    nextDueDate: next ? next.dueDate : null,
    nextDueAmount: next ? next.cumulativeDue.minus(state.totalPaid) : null,
    arrearsBucket: arrearsBucketOf(overdue),
  };
}
