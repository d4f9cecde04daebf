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
import { Schedule, ScheduledInstallment, paidInstallmentsFor } from './schedule';

export type CreditStatus = 'ACTIVE' | 'PAID_OFF';

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

export function initialState(schedule: Schedule): CreditState {
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
export function principalCovered(inst: ScheduledInstallment, c: Decimal): Decimal {
  if (c.lte(0)) return ZERO;
  if (c.gte(inst.amount)) return inst.principal;
  return coveredPart(inst, c);
}

/** P_i(c) for 0 < c < amount_i: round(c × principal_i / amount_i). */
function coveredPart(inst: ScheduledInstallment, c: Decimal): Decimal {
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
  schedule: Schedule,
  state: CreditState,
  payment: { amount: Decimal; paymentDate: string },
): void {
  checkPaymentWith(schedule, state, payment, null);
}

/** checkPayment, given totalAmount − state.totalPaid when it is already known. */
function checkPaymentWith(
  schedule: Schedule,
  state: CreditState,
  payment: { amount: Decimal; paymentDate: string },
  knownBalance: Decimal | null,
): void {
  const amount = payment.amount;
  if (!Decimal.isDecimal(amount) || !amount.isFinite() || !amount.gt(0) || !isCents(amount)) {
    throw new DomainError('AMOUNT_INVALID', 'amount must be greater than 0 with at most 2 decimals', 'amount');
  }
  if (state.status !== 'ACTIVE') {
    throw new DomainError('CREDIT_NOT_ACTIVE', `the credit is ${state.status}; it takes no more payments`);
  }
  parseDate(payment.paymentDate, 'paymentDate', 'PAYMENT_DATE_INVALID');
  const startDate = schedule.installments[0].dueDate;
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
 * evaluated: P_i(c) last computed for a part-paid instalment (the next payment starts inside that instalment at
 * exactly that c, so its P_i(before) is known), and the balance and paid instalments for the totalPaid it leaves.
 */
interface Carry {
  inst: ScheduledInstallment | null;
  paid: Decimal;
  principal: Decimal;
  /** For that very totalPaid object: totalAmount − totalPaid and paidInstallmentsFor(schedule, totalPaid). */
  totalPaid: Decimal | null;
  balance: Decimal;
  paidInstallments: number;
}

/** P_i(c) for 0 < c < amount_i, taken from the carry when it holds that very value. */
function coveredInside(inst: ScheduledInstallment, c: Decimal, carry: Carry | undefined): Decimal {
  if (!carry) return coveredPart(inst, c);
  if (carry.inst === inst && carry.paid.eq(c)) return carry.principal;
  const p = coveredPart(inst, c);
  carry.inst = inst;
  carry.paid = c;
  carry.principal = p;
  return p;
}

/** Applies one payment (see the module comment). Pure: returns the new state and the allocation. */
export function applyPayment(
  schedule: Schedule,
  state: CreditState,
  payment: { amount: Decimal; paymentDate: string },
): { state: CreditState; allocation: PaymentAllocation } {
  return applyPaymentCarrying(schedule, state, payment, undefined);
}

/**
 * applyPayment, computed with as few Decimal operations as the rules allow (it is the inner loop of every
 * recalculation). Per instalment i touched, with start = D_i − amount_i (= D_(i−1)):
 *   paidBefore = clamp(before − start, 0, amount_i), paidAfter = clamp(after − start, 0, amount_i),
 * where "x − start ≥ amount_i" is tested as "x ≥ D_i" and the clamped ends are the constants 0 and amount_i;
 * P_i(0) = 0 and P_i(amount_i) = principal_i, as `principalCovered` says; the part-paid ends go to it.
 */
function applyPaymentCarrying(
  schedule: Schedule,
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

  const lines: AllocationLine[] = [];
  // Instalments 1..k with D_k ≤ totalPaid are fully paid: start right after them.
  const first = known ? carry.paidInstallments : paidInstallmentsFor(schedule, before);
  for (let idx = first; idx < list.length; idx++) {
    const inst = list[idx];
    const start = inst.cumulativeDue.minus(inst.amount); // D_(i−1)
    if (start.gte(after)) break;
    const paidBefore = before.lte(start) ? ZERO : before.gte(inst.cumulativeDue) ? inst.amount : before.minus(start);
    // after > start here, so after − start > 0: past 0 = paidBefore unless it is clamped to amount_i.
    const paidAfter = after.gte(inst.cumulativeDue) ? inst.amount : after.minus(start);
    if ((paidBefore !== ZERO || paidAfter === inst.amount) && !paidAfter.gt(paidBefore)) continue;
    let lineAmount: Decimal;
    let principal: Decimal;
    if (paidBefore === ZERO) {
      // P_i(0) = 0
      lineAmount = paidAfter;
      principal = paidAfter === inst.amount ? principalCovered(inst, paidAfter) : coveredInside(inst, paidAfter, carry);
    } else {
      lineAmount = paidAfter.minus(paidBefore);
      const coveredBefore = coveredInside(inst, paidBefore, carry);
      principal = (paidAfter === inst.amount ? principalCovered(inst, paidAfter) : coveredInside(inst, paidAfter, carry)).minus(coveredBefore);
    }
    lines.push({
      installmentNumber: inst.number,
      amount: lineAmount,
      principal,
      interest: lineAmount.minus(principal),
      remainingForInstallment: paidAfter === inst.amount ? ZERO : inst.amount.minus(paidAfter),
    });
  }

  // Σ over the lines; 0 + x is x.
  let principal = lines.length ? lines[0].principal : ZERO;
  let interest = lines.length ? lines[0].interest : ZERO;
  for (let i = 1; i < lines.length; i++) {
    principal = principal.plus(lines[i].principal);
    interest = interest.plus(lines[i].interest);
  }
  const balanceAfter = schedule.totalAmount.minus(after);
  const paidInstallments = paidInstallmentsFor(schedule, after);
  if (carry) {
    carry.totalPaid = after;
    carry.balance = balanceAfter;
    carry.paidInstallments = paidInstallments;
  }
  const newState: CreditState = {
    totalPaid: after,
    balance: balanceAfter,
    paidInstallments,
    paymentCount: state.paymentCount + 1,
    lastPaymentDate: state.lastPaymentDate === null ? payment.paymentDate : maxDate(state.lastPaymentDate, payment.paymentDate),
    status: balanceAfter.isZero() ? 'PAID_OFF' : 'ACTIVE',
  };
  return {
    state: newState,
    allocation: {
      amount,
      principal,
      interest,
      installmentNumber: lines[0].installmentNumber,
      remainingForInstallment: lines[lines.length - 1].remainingForInstallment,
      balanceAfter,
      totalPaidAfter: after,
      lines,
    },
  };
}

/**
 * Recomputes the state from the ledger (payments in application order). Reversing a payment =
 * recomputing without it; the later payments get re-allocated.
 */
export function recompute(
  schedule: Schedule,
  ledger: LedgerPayment[],
): { state: CreditState; allocations: Array<{ paymentId: string; allocation: PaymentAllocation }> } {
  let state = initialState(schedule);
  const allocations: Array<{ paymentId: string; allocation: PaymentAllocation }> = [];
  const carry: Carry = { inst: null, paid: ZERO, principal: ZERO, totalPaid: null, balance: ZERO, paidInstallments: 0 };
  for (const p of ledger) {
    const r = applyPaymentCarrying(schedule, state, { amount: p.amount, paymentDate: p.paymentDate }, carry);
    state = r.state;
    allocations.push({ paymentId: p.id, allocation: r.allocation });
  }
  return { state, allocations };
}

export interface StateDrift {
  field: string;
  persisted: string;
  recomputed: string;
}

/** Differences between persisted and recomputed state (money compared by value); [] = consistent. */
export function diffState(persisted: CreditState, recomputed: CreditState): StateDrift[] {
  const out: StateDrift[] = [];
  const cmp = (field: string, a: string, b: string): void => {
    if (a !== b) out.push({ field, persisted: a, recomputed: b });
  };
  cmp('totalPaid', formatMoney(persisted.totalPaid), formatMoney(recomputed.totalPaid));
  cmp('balance', formatMoney(persisted.balance), formatMoney(recomputed.balance));
  cmp('paidInstallments', String(persisted.paidInstallments), String(recomputed.paidInstallments));
  cmp('paymentCount', String(persisted.paymentCount), String(recomputed.paymentCount));
  cmp('lastPaymentDate', String(persisted.lastPaymentDate), String(recomputed.lastPaymentDate));
  cmp('status', persisted.status, recomputed.status);
  return out;
}
