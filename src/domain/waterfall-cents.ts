/**
 * The waterfall's arithmetic (see waterfall.ts for the rules), in exact integer cents (`bigint`): the only
 * implementation there is. waterfall.ts reads and returns Decimals around it; the recalculation's check reads
 * PostgreSQL's texts straight into cents and compares them here without a Decimal.
 */
import { DomainError } from './errors';
import { centsText, roundHalfEven } from './money';
import { maxDate, parseDate } from './dates';
import { CentsInstallment, CentsSchedule, paidInstallmentsForCents } from './ledger-schedule';
import { assert } from './assert';
import type { CreditStatus } from './status';

/** A credit's state in cents; its balance is totalAmount − totalPaid. */
export interface CentsState {
  totalPaid: bigint;
  paidInstallments: number;
  paymentCount: number;
  lastPaymentDate: string | null;
  status: CreditStatus;
}

/** One allocation line in cents; its interest is amount − principal. */
export interface CentsLine {
  installmentNumber: number;
  amount: bigint;
  principal: bigint;
  /** What is still due on that instalment after this payment. */
  remaining: bigint;
}

export interface CentsPayment {
  id: string;
  amount: bigint;
  paymentDate: string;
}

export const initialCentsState = (): CentsState => ({ totalPaid: 0n, paidInstallments: 0, paymentCount: 0, lastPaymentDate: null, status: 'ACTIVE' });

/** P_i(c) = roundHalfEven(c × principal_i / amount_i), 0 at c ≤ 0 and principal_i at c ≥ amount_i. */
export function coveredCents(amount: bigint, principal: bigint, c: bigint): bigint {
  if (c <= 0n) return 0n;
  if (c >= amount) return principal;
  return roundHalfEven(c * principal, amount);
}

/** The checks of `checkPayment` past the amount's form (see there), given the amount in cents. */
export function checkCents(schedule: CentsSchedule, state: CentsState, amount: bigint, paymentDate: string): void {
  if (amount <= 0n) throw new DomainError('AMOUNT_INVALID', 'amount must be greater than 0 with at most 2 decimals', 'amount');
  if (state.status !== 'ACTIVE') {
    throw new DomainError('CREDIT_NOT_ACTIVE', `the credit is ${state.status}; it takes no more payments`);
  }
  parseDate(paymentDate, 'paymentDate', 'PAYMENT_DATE_INVALID');
  const startDate = schedule.installments[0].dueDate;
  assert(startDate !== undefined, "a schedule's first instalment carries the start date");
  if (paymentDate < startDate) {
    throw new DomainError('PAYMENT_DATE_INVALID', `paymentDate ${paymentDate} is before the credit's start date ${startDate}`, 'paymentDate');
  }
  const balance = schedule.totalAmount - state.totalPaid;
  if (amount > balance) {
    throw new DomainError('AMOUNT_EXCEEDS_BALANCE', `amount ${centsText(amount)} exceeds the balance ${centsText(balance)}`, 'amount', { balance: centsText(balance) });
  }
}

/**
 * What a fold carries from one payment to the next: the instalment the last payment left part-paid (index, or
 * −1) and P_i of what is paid on it, which is the next payment's P_i(before), for the totalPaid it left.
 */
interface Carry {
  totalPaid: bigint;
  partPaid: number;
  partPaidPrincipal: bigint;
}

/**
 * Applies one payment in cents: the new state and its lines. Instalment amounts are > 0 (the schedule's rule and a
 * column check), so D_k grows strictly: with first = #{k : D_k ≤ before}, instalment `first` is the only one the
 * payment can find part-paid, and the payment stops at the first instalment that starts at or past `after`. On
 * instalment i, starting at D_(i−1) and ending at D_i: full after (after ≥ D_i), the line takes the rest of it
 * and its principal is P_i(amount_i) = principal_i; part-paid after, the line takes up to `after` and its
 * principal is P_i(after − D_(i−1)); less, on a part-paid first instalment, P_i(before − D_(i−1)).
 */
export function allocateCents(
  schedule: CentsSchedule,
  state: CentsState,
  amount: bigint,
  paymentDate: string,
  carry: Carry | undefined,
): { state: CentsState; lines: CentsLine[] } {
  checkCents(schedule, state, amount, paymentDate);
  const before = state.totalPaid;
  const after = before + amount;
  const list = schedule.installments;
  const known = carry !== undefined && carry.totalPaid === before;
  const first = known ? state.paidInstallments : paidInstallmentsForCents(schedule, before);
  let paidInstallments = first;
  let partPaid = -1;
  let partPaidPrincipal = 0n;
  const lines: CentsLine[] = [];
  let start = first === 0 ? 0n : list[first - 1].cumulativeDue; // D_(i−1)
  for (let idx = first; idx < list.length && after > start; idx++) {
    const inst: CentsInstallment = list[idx];
    const end = inst.cumulativeDue;
    // P_i(before − D_(i−1)) on a part-paid first instalment; −1 when the payment starts it.
    let coveredBefore = -1n;
    if (idx === first) {
      if (known) coveredBefore = carry.partPaid === idx ? carry.partPaidPrincipal : -1n;
      else if (before > start) coveredBefore = coveredCents(inst.amount, inst.principal, before - start);
    }
    const startsInside = coveredBefore >= 0n;
    if (after >= end) {
      lines.push({
        installmentNumber: inst.number,
        amount: startsInside ? end - before : inst.amount,
        principal: startsInside ? inst.principal - coveredBefore : inst.principal,
        remaining: 0n,
      });
      paidInstallments = idx + 1;
    } else {
      const paidAfter = after - start;
      const coveredAfter = coveredCents(inst.amount, inst.principal, paidAfter);
      // Starting inside the instalment and ending inside it, the line is the whole payment.
      lines.push({ installmentNumber: inst.number, amount: startsInside ? amount : paidAfter, principal: startsInside ? coveredAfter - coveredBefore : coveredAfter, remaining: end - after });
      partPaid = idx;
      partPaidPrincipal = coveredAfter;
    }
    start = end;
  }
  if (carry) {
    carry.totalPaid = after;
    carry.partPaid = partPaid;
    carry.partPaidPrincipal = partPaidPrincipal;
  }
  const newState: CentsState = {
    totalPaid: after,
    paidInstallments,
    paymentCount: state.paymentCount + 1,
    lastPaymentDate: state.lastPaymentDate === null ? paymentDate : maxDate(state.lastPaymentDate, paymentDate),
    status: after === schedule.totalAmount ? 'PAID_OFF' : 'ACTIVE',
  };
  return { state: newState, lines };
}

/**
 * Folds the ledger (payments in application order) over the schedule from the initial state: each payment's
 * amount in cents by `amountOf` (which may refuse it), its lines and the state after it handed to `onPayment`.
 * Returns the final state.
 */
export function foldLedger<P extends { paymentDate: string }>(
  schedule: CentsSchedule,
  ledger: readonly P[],
  amountOf: (p: P) => bigint,
  onPayment: (p: P, lines: CentsLine[], after: CentsState) => void,
): CentsState {
  let state = initialCentsState();
  const carry: Carry = { totalPaid: -1n, partPaid: -1, partPaidPrincipal: 0n };
  for (const p of ledger) {
    const r = allocateCents(schedule, state, amountOf(p), p.paymentDate, carry);
    state = r.state;
    onPayment(p, r.lines, state);
  }
  return state;
}
