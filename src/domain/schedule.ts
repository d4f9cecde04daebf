/**
 * Credit terms and the repayment schedule (DESIGN.md §3 "Schedule"), computed once at creation,
 * exact to the cent. Rounding happens only through `roundMoney` and only where the design says so.
 *
 * Due dates: instalment i (1-based) is due on `startDate + (i − 1) · periodDays`, i.e. the first
 * instalment is due on the start date itself. With that convention the seed's formula
 * `expectedInstallments(D) = ceil(days(startDate, D) / periodDays) + 1` counts the instalments due
 * on or before D plus the one coming next, so `expected − 1` = number of instalments whose due date
 * is strictly before D, and `overdueInstallments(D) = max(0, expected − 1 − paidInstallments)` =
 * number of unpaid instalments whose due date is before D (for D up to the last due date; after it
 * the design caps expected at n, so the last instalment stays "pending, not overdue").
 */
import { DomainError } from './errors';
import { Decimal, parseMoney, parseRate, roundMoney } from './money';
import { addDays, parseDate } from './dates';

export const SCHEDULE_TYPES = ['FLAT', 'DECLINING'] as const;
export type ScheduleType = (typeof SCHEDULE_TYPES)[number];

export interface CreditTerms {
  principal: Decimal;
  /** Interest rate per period (e.g. 0.05 = 5 % per period). */
  interestRate: Decimal;
  installments: number;
  periodDays: number;
  startDate: string;
  scheduleType: ScheduleType;
}

export interface ScheduledInstallment {
  number: number;
  dueDate: string;
  amount: Decimal;
  principal: Decimal;
  interest: Decimal;
  /** D_k: Σ of amounts 1..k. */
  cumulativeDue: Decimal;
}

export interface Schedule {
  totalInterest: Decimal;
  totalAmount: Decimal;
  /** The regular instalment (FLAT: round(total/n); DECLINING: the French annuity). */
  installmentAmount: Decimal;
  installments: ScheduledInstallment[];
}

/** One more than the largest total abono stores: NUMERIC(18,2), 16 integer digits. */
const MAX_MONEY = new Decimal('1e16');

export const MIN_INSTALLMENTS = 1;
export const MAX_INSTALLMENTS = 600;
export const MIN_PERIOD_DAYS = 1;
export const MAX_PERIOD_DAYS = 3660;
export const DEFAULT_PERIOD_DAYS = 30;

function termsError(field: string, message: string): DomainError {
  return new DomainError('TERMS_INVALID', message, field);
}

/** A count: a JS integer, or a string of decimal digits. */
function parseCount(input: unknown, field: string, min: number, max: number): number {
  let n: number | undefined;
  if (typeof input === 'number' && Number.isSafeInteger(input)) n = input;
  else if (typeof input === 'string' && /^\d{1,6}$/.test(input)) n = Number(input);
  if (n === undefined || n < min || n > max) {
    throw termsError(field, `${field} must be an integer from ${min} to ${max}`);
  }
  return n;
}

/**
 * Validates and parses raw credit terms (as received by the API: money and rate as decimal strings,
 * counts as integers). Defaults: periodDays 30, scheduleType FLAT. Throws TERMS_INVALID naming the
 * field at fault.
 */
export function validateTerms(raw: {
  principal: unknown;
  interestRate: unknown;
  installments: unknown;
  periodDays?: unknown;
  startDate: unknown;
  scheduleType?: unknown;
}): CreditTerms {
  if (raw === null || typeof raw !== 'object') throw termsError('principal', 'credit terms are required');
  let principal: Decimal;
  try {
    principal = parseMoney(raw.principal, 'principal');
  } catch {
    throw termsError(
      'principal',
      'principal must be a decimal string greater than 0 with at most 12 integer digits and 2 decimals',
    );
  }
  if (!principal.gt(0)) throw termsError('principal', 'principal must be greater than 0');
  const interestRate = parseRate(raw.interestRate, 'interestRate');
  const installments = parseCount(raw.installments, 'installments', MIN_INSTALLMENTS, MAX_INSTALLMENTS);
  const periodDays =
    raw.periodDays === undefined || raw.periodDays === null
      ? DEFAULT_PERIOD_DAYS
      : parseCount(raw.periodDays, 'periodDays', MIN_PERIOD_DAYS, MAX_PERIOD_DAYS);
  const startDate = parseDate(raw.startDate, 'startDate', 'TERMS_INVALID');
  let scheduleType: ScheduleType = 'FLAT';
  if (raw.scheduleType !== undefined && raw.scheduleType !== null) {
    if (raw.scheduleType !== 'FLAT' && raw.scheduleType !== 'DECLINING') {
      throw termsError('scheduleType', 'scheduleType must be "FLAT" or "DECLINING"');
    }
    scheduleType = raw.scheduleType;
  }
  // The last due date must be a representable calendar date.
  try {
    addDays(startDate, (installments - 1) * periodDays);
  } catch {
    throw termsError('startDate', 'the last instalment would fall after 9999-12-31');
  }
  return { principal, interestRate, installments, periodDays, startDate, scheduleType };
}

/** Due date of instalment `number` (1-based): startDate + (number − 1) · periodDays. */
export function dueDateOf(terms: Pick<CreditTerms, 'startDate' | 'periodDays'>, number: number): string {
  return addDays(terms.startDate, (number - 1) * terms.periodDays);
}

interface Row {
  amount: Decimal;
  principal: Decimal;
  interest: Decimal;
}

function flatRows(terms: CreditTerms): { rows: Row[]; totalInterest: Decimal; installmentAmount: Decimal } {
  const n = terms.installments;
  const totalInterest = roundMoney(terms.principal.times(terms.interestRate).times(n));
  const totalAmount = terms.principal.plus(totalInterest);
  const installmentAmount = roundMoney(totalAmount.div(n));
  const regularInterest = roundMoney(totalInterest.div(n));
  const rows: Row[] = [];
  for (let i = 1; i <= n; i++) {
    const last = i === n;
    const amount = last ? totalAmount.minus(installmentAmount.times(n - 1)) : installmentAmount;
    const interest = last ? totalInterest.minus(regularInterest.times(n - 1)) : regularInterest;
    rows.push({ amount, interest, principal: amount.minus(interest) });
  }
  return { rows, totalInterest, installmentAmount };
}

/** The French-amortisation instalment: round(P·r / (1 − (1+r)^−n)), or round(P/n) at r = 0. */
export function annuityInstallment(principal: Decimal, rate: Decimal, n: number): Decimal {
  if (rate.isZero()) return roundMoney(principal.div(n));
  const onePlusR = rate.plus(1);
  const factor = new Decimal(1).minus(new Decimal(1).div(onePlusR.pow(n)));
  return roundMoney(principal.times(rate).div(factor));
}

function decliningRows(terms: CreditTerms): { rows: Row[]; totalInterest: Decimal; installmentAmount: Decimal } {
  const n = terms.installments;
  const r = terms.interestRate;
  const installmentAmount = annuityInstallment(terms.principal, r, n);
  const rows: Row[] = [];
  let remaining = terms.principal;
  let totalInterest = new Decimal(0);
  for (let i = 1; i <= n; i++) {
    const interest = roundMoney(remaining.times(r));
    const principal = i === n ? remaining : installmentAmount.minus(interest);
    const amount = principal.plus(interest);
    rows.push({ amount, principal, interest });
    totalInterest = totalInterest.plus(interest);
    remaining = remaining.minus(principal);
  }
  return { rows, totalInterest, installmentAmount };
}

/**
 * Builds the schedule exactly per DESIGN.md §3. Throws SCHEDULE_INVALID (field 'installmentAmount',
 * 'principal' or 'interest'; meta.installment = the instalment number) when an instalment would be
 * ≤ 0 or would carry a negative principal or interest portion — this happens when rounding to the
 * cent cannot spread the amounts over n instalments (e.g. principal 10.00 over 600 instalments).
 */
export function buildSchedule(terms: CreditTerms): Schedule {
  const n = terms.installments;
  if (!Number.isSafeInteger(n) || n < MIN_INSTALLMENTS || n > MAX_INSTALLMENTS) {
    throw termsError('installments', `installments must be an integer from ${MIN_INSTALLMENTS} to ${MAX_INSTALLMENTS}`);
  }
  if (!Number.isSafeInteger(terms.periodDays) || terms.periodDays < MIN_PERIOD_DAYS || terms.periodDays > MAX_PERIOD_DAYS) {
    throw termsError('periodDays', `periodDays must be an integer from ${MIN_PERIOD_DAYS} to ${MAX_PERIOD_DAYS}`);
  }
  if (!terms.principal.gt(0) || terms.principal.decimalPlaces() > 2) {
    throw termsError('principal', 'principal must be greater than 0 with at most 2 decimals');
  }
  if (terms.interestRate.isNeg() || !terms.interestRate.isFinite()) {
    throw termsError('interestRate', 'interestRate must be ≥ 0');
  }
  let built: { rows: Row[]; totalInterest: Decimal; installmentAmount: Decimal };
  if (terms.scheduleType === 'FLAT') built = flatRows(terms);
  else if (terms.scheduleType === 'DECLINING') built = decliningRows(terms);
  else throw termsError('scheduleType', 'scheduleType must be "FLAT" or "DECLINING"');

  const installments: ScheduledInstallment[] = [];
  let cumulative = new Decimal(0);
  built.rows.forEach((row, idx) => {
    const number = idx + 1;
    const refuse = (message: string, field: string) => new DomainError('SCHEDULE_INVALID', `instalment ${number} would ${message}`, field, { installment: String(number) });
    if (!row.amount.gt(0)) throw refuse(`be ${row.amount.toFixed(2)}: the principal is too small to spread over ${n} instalments`, 'installmentAmount');
    if (row.principal.isNeg()) throw refuse(`have a negative principal portion (${row.principal.toFixed(2)})`, 'principal');
    if (row.interest.isNeg()) throw refuse(`have a negative interest portion (${row.interest.toFixed(2)})`, 'interest');
    cumulative = cumulative.plus(row.amount);
    installments.push({
      number,
      dueDate: dueDateOf(terms, number),
      amount: row.amount,
      principal: row.principal,
      interest: row.interest,
      cumulativeDue: cumulative,
    });
  });
  const totalAmount = terms.principal.plus(built.totalInterest);
  // Amounts in have at most 12 integer digits; a total with interest may grow past that, up to the column.
  if (totalAmount.gte(MAX_MONEY)) {
    throw new DomainError('SCHEDULE_INVALID', `the total to repay (${totalAmount.toFixed(2)}) exceeds the largest total abono stores (9999999999999999.99)`, 'totalAmount');
  }
  return {
    totalInterest: built.totalInterest,
    totalAmount,
    installmentAmount: built.installmentAmount,
    installments,
  };
}

/** D_k (cumulative due through instalment k), with D_0 = 0. */
export function cumulativeDue(schedule: Schedule, k: number): Decimal {
  if (k <= 0) return new Decimal(0);
  const list = schedule.installments;
  return list[Math.min(k, list.length) - 1].cumulativeDue;
}

export type InstallmentPaymentStatus = 'PAID' | 'PARTIAL' | 'UNPAID';

export interface InstallmentProgress {
  installment: ScheduledInstallment;
  paid: Decimal;
  remaining: Decimal;
  status: InstallmentPaymentStatus;
}

/** What is paid and what remains on each instalment, given the credit's totalPaid (waterfall order). */
export function installmentProgress(schedule: Schedule, totalPaid: Decimal): InstallmentProgress[] {
  return schedule.installments.map((installment) => {
    const before = installment.cumulativeDue.minus(installment.amount);
    const paid = Decimal.min(installment.amount, Decimal.max(0, totalPaid.minus(before)));
    const remaining = installment.amount.minus(paid);
    return { installment, paid, remaining, status: remaining.isZero() ? 'PAID' : paid.gt(0) ? 'PARTIAL' : 'UNPAID' };
  });
}
