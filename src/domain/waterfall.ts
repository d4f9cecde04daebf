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
 */
import { DomainError } from './errors';
import { Decimal, formatMoney, isCents, roundMoney } from './money';
import { daysBetween, maxDate, parseDate } from './dates';
import { LedgerInstallment, LedgerSchedule, paidInstallmentsFor } from './schedule';
import { assert } from './assert';
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
  if (c.lte(0)) return ZERO;
  if (c.gte(inst.amount)) return inst.principal;
  return coveredPart(inst, c);
}

/** P_i(c) for 0 < c < amount_i: round(c × principal_i / amount_i). */
function coveredPart(inst: LedgerInstallment, c: Decimal): Decimal {
  return roundMoney(c.times(inst.principal).div(inst.amount));
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
  checkPaymentWith(schedule, state, payment, null);
}

/** checkPayment, given totalAmount − state.totalPaid when it is already known. */
function checkPaymentWith(
  schedule: LedgerSchedule,
  state: CreditState,
  payment: { amount: Decimal; paymentDate: string },
  knownBalance: Decimal | null,
): void {
  const amount = payment.amount;
  if (!Decimal.isDecimal(amount) || !amount.isFinite() || amount.isZero() || amount.isNeg() || !isCents(amount)) {
    throw new DomainError('AMOUNT_INVALID', 'amount must be greater than 0 with at most 2 decimals', 'amount');
  }
  if (state.status !== 'ACTIVE') {
    throw new DomainError('CREDIT_NOT_ACTIVE', `the credit is ${state.status}; it takes no more payments`);
  }
  parseDate(payment.paymentDate, 'paymentDate', 'PAYMENT_DATE_INVALID');
  const startDate = schedule.installments[0].dueDate;
  assert(startDate !== undefined, "a schedule's first instalment carries the start date");
  if (payment.paymentDate < startDate) {
    throw new DomainError(
      'PAYMENT_DATE_INVALID',
      `paymentDate ${payment.paymentDate} is before the credit's start date ${startDate}`,
      'paymentDate',
    );
  }
  const balance = knownBalance ?? schedule.totalAmount.minus(state.totalPaid);
  if (amount.gt(balance)) {
    throw new DomainError(
      'AMOUNT_EXCEEDS_BALANCE',
      `amount ${formatMoney(amount)} exceeds the balance ${formatMoney(balance)}`,
      'amount',
      { balance: formatMoney(balance) },
    );
  }
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

/**
 * What `recompute` carries from one payment to the next, all of it pure functions of the schedule already
 * evaluated for the totalPaid the last payment left (that very object): the balance, the paid instalments,
 * and the instalment it left part-paid (if any) with P_i of what is paid on it, which is the next payment's
 * P_i(before).
 */
interface Carry {
  totalPaid: Decimal | null;
  balance: Decimal;
  paidInstallments: number;
  partPaid: LedgerInstallment | null;
  partPaidPrincipal: Decimal;
}

/** Applies one payment (see the module comment). Pure: returns the new state and the allocation. */
export function applyPayment(
  schedule: LedgerSchedule,
  state: CreditState,
  payment: { amount: Decimal; paymentDate: string },
): { state: CreditState; allocation: PaymentAllocation } {
  return applyPaymentCarrying(schedule, state, payment, undefined);
}

/**
 * applyPayment, computed with as few Decimal operations as the rules allow (it is the inner loop of every
 * recalculation). Instalment amounts are > 0 (the schedule's rule and a column check), so D_k grows strictly:
 * with first = #{k : D_k ≤ before}, instalment `first` is the only one the payment can find part-paid, the
 * ones after it start at D_(i−1) ≥ D_first > before, and the payment stops at the first instalment that
 * starts at or past `after`. On instalment i, starting at D_(i−1) and ending at D_i:
 *   full after (after ≥ D_i): the line takes the rest of it, its principal P_i(amount_i) = principal_i;
 *   part-paid after: the line takes up to `after`, its principal P_i(after − D_(i−1));
 * less, on a part-paid first instalment, what was paid before and P_i(before − D_(i−1)).
 */
function applyPaymentCarrying(
  schedule: LedgerSchedule,
  state: CreditState,
  payment: { amount: Decimal; paymentDate: string },
  carry: Carry | undefined,
): { state: CreditState; allocation: PaymentAllocation } {
  const before = state.totalPaid;
  const known = carry !== undefined && carry.totalPaid === before;
  checkPaymentWith(schedule, state, payment, known ? carry.balance : null);
  const amount = payment.amount.constructor === Decimal ? payment.amount : new Decimal(payment.amount);
  const after = before.plus(amount);
  const list = schedule.installments;

  const first = known ? carry.paidInstallments : paidInstallmentsFor(schedule, before);
  let paidInstallments = first;
  let partPaid: LedgerInstallment | null = null;
  let partPaidPrincipal = ZERO;
  const lines: AllocationLine[] = [];
  let start = first === 0 ? ZERO : list[first - 1].cumulativeDue; // D_(i−1)
  for (let idx = first; idx < list.length && after.gt(start); idx++) {
    const inst = list[idx];
    const end = inst.cumulativeDue;
    // P_i(before − D_(i−1)) on a part-paid first instalment; null when the payment starts it.
    let coveredBefore: Decimal | null = null;
    if (idx === first) {
      if (known) coveredBefore = carry.partPaid === inst ? carry.partPaidPrincipal : null;
      else if (before.gt(start)) coveredBefore = coveredPart(inst, before.minus(start));
    }
    let lineAmount: Decimal;
    let principal: Decimal;
    let remaining: Decimal;
    if (after.gte(end)) {
      lineAmount = coveredBefore ? end.minus(before) : inst.amount;
      principal = coveredBefore ? inst.principal.minus(coveredBefore) : inst.principal;
      remaining = ZERO;
      paidInstallments = idx + 1;
    } else {
      const paidAfter = after.minus(start);
      const coveredAfter = coveredPart(inst, paidAfter);
      // Starting inside the instalment and ending inside it, the line is the whole payment.
      lineAmount = coveredBefore ? amount : paidAfter;
      principal = coveredBefore ? coveredAfter.minus(coveredBefore) : coveredAfter;
      remaining = end.minus(after);
      partPaid = inst;
      partPaidPrincipal = coveredAfter;
    }
    lines.push({ installmentNumber: inst.number, amount: lineAmount, principal, interest: lineAmount.minus(principal), remainingForInstallment: remaining });
    start = end;
  }

  const balanceAfter = schedule.totalAmount.minus(after);
  if (carry) {
    carry.totalPaid = after;
    carry.balance = balanceAfter;
    carry.paidInstallments = paidInstallments;
    carry.partPaid = partPaid;
    carry.partPaidPrincipal = partPaidPrincipal;
  }
  const newState: CreditState = {
    totalPaid: after,
    balance: balanceAfter,
    paidInstallments,
    paymentCount: state.paymentCount + 1,
    lastPaymentDate: state.lastPaymentDate === null ? payment.paymentDate : maxDate(state.lastPaymentDate, payment.paymentDate),
    status: balanceAfter.isZero() ? 'PAID_OFF' : 'ACTIVE',
  };
  return { state: newState, allocation: allocationOf(amount, after, balanceAfter, lines) };
}

/** The payment's allocation from its lines (at least one: the amount is > 0). */
function allocationOf(amount: Decimal, totalPaidAfter: Decimal, balanceAfter: Decimal, lines: AllocationLine[]): PaymentAllocation {
  // Σ over the lines; 0 + x is x.
  let principal = lines[0].principal;
  let interest = lines[0].interest;
  for (let i = 1; i < lines.length; i++) {
    principal = principal.plus(lines[i].principal);
    interest = interest.plus(lines[i].interest);
  }
  return {
    amount,
    principal,
    interest,
    installmentNumber: lines[0].installmentNumber,
    remainingForInstallment: lines[lines.length - 1].remainingForInstallment,
    balanceAfter,
    totalPaidAfter,
    lines,
  };
}

/**
 * Recomputes the state from the ledger (payments in application order). Reversing a payment =
 * recomputing without it; the later payments get re-allocated.
 */
export function recompute(
  schedule: LedgerSchedule,
  ledger: LedgerPayment[],
): { state: CreditState; allocations: Array<{ paymentId: string; allocation: PaymentAllocation }> } {
  let state = initialState(schedule);
  const allocations: Array<{ paymentId: string; allocation: PaymentAllocation }> = [];
  const carry: Carry = { totalPaid: null, balance: ZERO, paidInstallments: 0, partPaid: null, partPaidPrincipal: ZERO };
  for (const p of ledger) {
    const r = applyPaymentCarrying(schedule, state, { amount: p.amount, paymentDate: p.paymentDate }, carry);
    state = r.state;
    allocations.push({ paymentId: p.id, allocation: r.allocation });
  }
  return { state, allocations };
}
