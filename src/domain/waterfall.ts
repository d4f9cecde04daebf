/**
 * Applying payments to a schedule (DESIGN.md §3 "Applying a payment (the waterfall)").
 *
 * Payments fill instalments in order. With D_k the cumulative amount due through instalment k and
 * c the cumulative amount paid on instalment i, the principal covered inside instalment i is
 * P_i(c) = round(c × principal_i / amount_i), with P_i(amount_i) = principal_i. A payment's
 * principal portion on i is P_i(after) − P_i(before) and its interest portion the rest, so over a
 * paid-off credit Σ principal portions = principal and Σ interest portions = totalInterest exactly.
 *
 * The state is a pure function of the schedule and the ordered ledger: `recompute` folds
 * `applyPayment` over it, and reversing a payment is recomputing without it.
 *
 * The arithmetic is exact, in integer cents (`bigint`, any size): P_i is `roundHalfEven(c × principal_i, amount_i)`
 * on cents, the one rounding there is. Decimals are read and returned at the edges (applyPayment, recompute);
 * the recalculation's check reads and compares cents without any Decimal (waterfall-cents.ts holds the core).
 */
import { DomainError } from './errors';
import { Decimal, centsOf, decimalOfCents, isCents } from './money';
import { daysBetween, parseDate } from './dates';
import { LedgerInstallment, LedgerSchedule, centsScheduleOf } from './ledger-schedule';
import { CentsLine, CentsState, allocateCents, checkCents, coveredCents, foldLedger } from './waterfall-cents';
import type { CreditStatus } from './status';


export interface CreditState {
  totalPaid: Decimal;
  balance: Decimal;
  paidInstallments: number;
  paymentCount: number;
  lastPaymentDate: string | null;
  status: CreditStatus;
}

export interface AllocationLine {
  installmentNumber: number;
  amount: Decimal;
  principal: Decimal;
  interest: Decimal;
  /** What is still due on that instalment after this payment. */
  remainingForInstallment: Decimal;
}

export interface PaymentAllocation {
  amount: Decimal;
  principal: Decimal;
  interest: Decimal;
  /** First instalment the payment touches. */
  installmentNumber: number;
  /** What is still due on the last instalment the payment touches, after it (= D_k − totalPaidAfter). */
  remainingForInstallment: Decimal;
  balanceAfter: Decimal;
  totalPaidAfter: Decimal;
  lines: AllocationLine[];
}

export interface LedgerPayment {
  id: string;
  amount: Decimal;
  paymentDate: string;
}

const ZERO = new Decimal(0);

export function initialState(schedule: LedgerSchedule): CreditState {
  return {
    totalPaid: ZERO,
    balance: schedule.totalAmount,
    paidInstallments: 0,
    paymentCount: 0,
    lastPaymentDate: null,
    status: 'ACTIVE',
  };
}

/** P_i(c): principal covered inside instalment `inst` once `c` of it has been paid. */
export function principalCovered(inst: LedgerInstallment, c: Decimal): Decimal {
  const amount = centsOf(inst.amount);
  const principal = centsOf(inst.principal);
  return decimalOfCents(coveredCents(amount, principal, centsOf(c)));
}

/** An amount the waterfall takes: a Decimal > 0 with at most 2 decimals, in cents; else AMOUNT_INVALID. */
function amountCents(amount: Decimal): bigint {
  if (!Decimal.isDecimal(amount) || !amount.isFinite() || amount.isZero() || amount.isNeg() || !isCents(amount)) {
    throw new DomainError('AMOUNT_INVALID', 'amount must be greater than 0 with at most 2 decimals', 'amount');
  }
  return centsOf(amount);
}

function centsState(state: CreditState): CentsState {
  return {
    totalPaid: centsOf(state.totalPaid),
    paidInstallments: state.paidInstallments,
    paymentCount: state.paymentCount,
    lastPaymentDate: state.lastPaymentDate,
    status: state.status,
  };
}

/** A state in cents as the domain returns it (balance = totalAmount − totalPaid). */
export function decimalState(totalAmount: bigint, s: CentsState): CreditState {
  return {
    totalPaid: decimalOfCents(s.totalPaid),
    balance: decimalOfCents(totalAmount - s.totalPaid),
    paidInstallments: s.paidInstallments,
    paymentCount: s.paymentCount,
    lastPaymentDate: s.lastPaymentDate,
    status: s.status,
  };
}

/**
 * Checks a payment against the credit without applying it: amount > 0 with at most 2 decimals
 * (AMOUNT_INVALID), credit ACTIVE (CREDIT_NOT_ACTIVE), paymentDate a real date not before the
 * start date (PAYMENT_DATE_INVALID), amount ≤ balance (AMOUNT_EXCEEDS_BALANCE, meta.balance).
 * Whether the date is in the future depends on "today", which the caller checks
 * (see `validatePaymentDate`).
 */
export function checkPayment(
  schedule: LedgerSchedule,
  state: CreditState,
  payment: { amount: Decimal; paymentDate: string },
): void {
  const amount = amountCents(payment.amount);
  checkCents(centsScheduleOf(schedule), centsState(state), amount, payment.paymentDate);
}

/**
 * A payment date must be a real date, not before the credit's start date and not after `today`
 * (the lender's calendar day, see `todayIn`). Throws PAYMENT_DATE_INVALID (field 'paymentDate').
 */
export function validatePaymentDate(input: unknown, startDate: string, today: string): string {
  const d = parseDate(input, 'paymentDate', 'PAYMENT_DATE_INVALID');
  if (daysBetween(startDate, d) < 0) {
    throw new DomainError('PAYMENT_DATE_INVALID', `paymentDate ${d} is before the credit's start date ${startDate}`, 'paymentDate');
  }
  if (daysBetween(today, d) > 0) {
    throw new DomainError('PAYMENT_DATE_INVALID', `paymentDate ${d} is in the future (today is ${today})`, 'paymentDate');
  }
  return d;
}

/** The allocation of one payment as the domain returns it, from its lines in cents. */
function allocationOf(amount: Decimal, totalAmount: bigint, totalPaidAfter: bigint, cents: CentsLine[]): PaymentAllocation {
  let principal = 0n;
  let interest = 0n;
  const lines: AllocationLine[] = [];
  for (const l of cents) {
    principal += l.principal;
    interest += l.amount - l.principal;
    lines.push({
      installmentNumber: l.installmentNumber,
      amount: decimalOfCents(l.amount),
      principal: decimalOfCents(l.principal),
      interest: decimalOfCents(l.amount - l.principal),
      remainingForInstallment: decimalOfCents(l.remaining),
    });
  }
  return {
    amount,
    principal: decimalOfCents(principal),
    interest: decimalOfCents(interest),
    installmentNumber: lines[0].installmentNumber,
    remainingForInstallment: lines[lines.length - 1].remainingForInstallment,
    balanceAfter: decimalOfCents(totalAmount - totalPaidAfter),
    totalPaidAfter: decimalOfCents(totalPaidAfter),
    lines,
  };
}

/** The payment's amount as this module's Decimal (Decimals are immutable: itself when it already is one). */
const ownAmount = (amount: Decimal): Decimal => (amount.constructor === Decimal ? amount : new Decimal(amount));

/** Applies one payment (see the module comment). Pure: returns the new state and the allocation. */
export function applyPayment(
  schedule: LedgerSchedule,
  state: CreditState,
  payment: { amount: Decimal; paymentDate: string },
): { state: CreditState; allocation: PaymentAllocation } {
  const amount = amountCents(payment.amount);
  const cs = centsScheduleOf(schedule);
  const r = allocateCents(cs, centsState(state), amount, payment.paymentDate, undefined);
  return { state: decimalState(cs.totalAmount, r.state), allocation: allocationOf(ownAmount(payment.amount), cs.totalAmount, r.state.totalPaid, r.lines) };
}

/**
 * Recomputes the state from the ledger (payments in application order). Reversing a payment =
 * recomputing without it; the later payments get re-allocated.
 */
export function recompute(
  schedule: LedgerSchedule,
  ledger: LedgerPayment[],
): { state: CreditState; allocations: Array<{ paymentId: string; allocation: PaymentAllocation }> } {
  const cs = centsScheduleOf(schedule);
  const allocations: Array<{ paymentId: string; allocation: PaymentAllocation }> = [];
  const state = foldLedger(cs, ledger, (p) => amountCents(p.amount), (p, lines, after) => {
    allocations.push({ paymentId: p.id, allocation: allocationOf(ownAmount(p.amount), cs.totalAmount, after.totalPaid, lines) });
  });
  return { state: decimalState(cs.totalAmount, state), allocations };
}
