/**
 * One legacy credit and its payments, as the legacy system would have persisted them: first computed by abono's
 * domain module (schedule, waterfall), so an unplanted credit's legacy figures are exactly abono's, then, for a
 * planted credit, with one of the seeds' failure modes written over its figures.
 */
import {
  Decimal,
  Schedule,
  addDays,
  buildSchedule,
  daysBetween,
  formatMoney,
  recompute,
  roundMoney,
  validateTerms,
} from '../src/domain';
import type { LegacyCreditRow, LegacyPaymentRow } from '../src/imports/legacy-rows';
import { abonoRate } from '../src/imports/legacy-terms';
export { prng as rng } from './seed';

/** The failure modes the generator plants, named by the code the reconciliation gives them. */
export const PLANTS = [
  'TOTAL_PAID_DIFFERS',
  'PAID_INSTALLMENTS_DIFFERS',
  'BALANCE_NOT_TOTAL_MINUS_PAID',
  'PORTION_DIFFERS',
  'OVERPAID',
  'TERMS_REFUSED',
  'INSTALLMENT_AMOUNT_DIFFERS',
  'BALANCE_DIFFERS',
] as const;
export type Plant = (typeof PLANTS)[number];

export type LegacyCredit = Omit<LegacyCreditRow, 'line'> & { scheduleType: string; periodDays: number; status: string };
export type LegacyPayment = Omit<LegacyPaymentRow, 'line'>;

export interface PlantedCredit {
  legacyId: string;
  plant: Plant;
  /** Every code the reconciliation must report for this credit (and no other). */
  codes: string[];
  /** The legacy columns the plant wrote over (credits.csv, or payments.csv for portions). */
  fields: string[];
  /** What the plant did, in words. */
  story: string;
  /** OVERPAID: the legacy ids of the payments beyond the total, which abono does not apply. */
  excessPaymentIds?: string[];
}

export interface GeneratedCredit {
  credit: LegacyCredit;
  payments: LegacyPayment[];
  planted: PlantedCredit | null;
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const between = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
/** A whole number of cents as a decimal string (exact integer arithmetic). */
const cents = (c: number): string => `${Math.trunc(c / 100)}.${String(c % 100).padStart(2, '0')}`;

const RATES_PERCENT = ['0', '1.5', '2', '2.5', '3', '4', '5', '7.5', '10'];
const INSTALLMENTS = [6, 10, 12, 12, 18, 24, 24, 36];
const PERIODS = [30, 30, 30, 15, 7];

interface Draft {
  credit: LegacyCredit;
  schedule: Schedule;
  payments: Array<{ amount: Decimal; paymentDate: string }>;
}

/** Terms and payments of a healthy credit: paid roughly on schedule, some partial, some double, up to `asOf`. */
function draft(r: () => number, legacyId: string, clientId: string, asOf: string, minPayments: number): Draft {
  const periodDays = pick(r, PERIODS);
  const n = pick(r, INSTALLMENTS);
  const scheduleType = r() < 0.8 ? 'FLAT' : 'DECLINING';
  const ratePercent = pick(r, RATES_PERCENT);
  const principalCents = r() < 0.7 ? between(r, 1, 500) * 10000 : between(r, 10000, 5000000);
  const startDate = addDays(asOf, -between(r, minPayments * periodDays, 4 * 365));
  const terms = validateTerms({ principal: cents(principalCents), interestRate: abonoRate(ratePercent, 'percent'), installments: n, periodDays, startDate, scheduleType });
  const schedule = buildSchedule(terms);
  const payments: Draft['payments'] = [];
  let paid = new Decimal(0);
  const count = Math.max(minPayments, Math.min(n + 2, between(r, 3, 22)));
  for (let j = 0; j < count; j++) {
    const paymentDate = addDays(startDate, j * periodDays + between(r, 0, Math.min(5, periodDays - 1)));
    const balance = schedule.totalAmount.minus(paid);
    if (daysBetween(paymentDate, asOf) < 0 || balance.isZero()) break;
    const dueNow = schedule.installments.find((i) => i.cumulativeDue.gt(paid))!.cumulativeDue.minus(paid);
    const roll = r();
    const wanted = roll < 0.7 ? dueNow : roll < 0.9 ? roundMoney(dueNow.div(2)) : dueNow.plus(schedule.installmentAmount);
    const amount = Decimal.min(balance, Decimal.max(wanted, '0.01'));
    payments.push({ amount, paymentDate });
    paid = paid.plus(amount);
  }
  const credit: LegacyCredit = {
    id: legacyId,
    clientId,
    amount: cents(principalCents),
    interestRate: ratePercent,
    totalInstallments: n,
    startDate,
    totalAmount: formatMoney(schedule.totalAmount),
    installmentAmount: formatMoney(schedule.installmentAmount),
    paidInstallments: 0,
    balance: '',
    totalPaid: '',
    scheduleType,
    periodDays,
    status: '',
  };
  return { credit, schedule, payments };
}

/** The legacy's float-ratio principal portion (the seed's accessor), kept to 10 decimals as its float printed. */
function floatRatioPortion(credit: LegacyCredit, amount: Decimal): { principal: string; interest: string } {
  const ratio = new Decimal(credit.amount).div(credit.totalInstallments).div(credit.installmentAmount);
  const principal = amount.times(ratio).toDecimalPlaces(10, Decimal.ROUND_DOWN);
  return { principal: principal.toFixed(), interest: amount.minus(principal).toFixed() };
}

/** Terms abono refuses, with the legacy's own figures (it computed total = amount × (1 + rate% × n)). */
function refusedTerms(r: () => number, legacyId: string, clientId: string, asOf: string, ids: () => string): GeneratedCredit {
  const variant = pick(r, [
    { n: 0, rate: '5', principal: '1000.00', periodDays: 30, fields: ['total_installments'], why: 'total_installments 0 (the legacy fallback when empty)' },
    { n: 720, rate: '0.1', principal: '3600.00', periodDays: 1, fields: ['total_installments'], why: '720 daily instalments, more than abono takes' },
    { n: 12, rate: '-2', principal: '1200.00', periodDays: 30, fields: ['interest_rate'], why: 'a negative interest rate' },
    { n: 600, rate: '0', principal: '5.00', periodDays: 7, fields: ['amount', 'total_installments'], why: 'a principal too small to spread over 600 instalments' },
  ]);
  const startDate = addDays(asOf, -between(r, 90, 700));
  const total = roundMoney(new Decimal(variant.principal).times(new Decimal(variant.rate).div(100).times(variant.n).plus(1)));
  const installment = variant.n > 0 ? roundMoney(total.div(variant.n)) : total;
  const payments: LegacyPayment[] = [1, 2].map((j) => ({ id: ids(), creditId: legacyId, amount: formatMoney(Decimal.min(installment, total.div(2)).toDecimalPlaces(2)), paymentDate: addDays(startDate, j * variant.periodDays) }));
  const paid = payments.reduce((s, p) => s.plus(p.amount), new Decimal(0));
  const credit: LegacyCredit = {
    id: legacyId,
    clientId,
    amount: variant.principal,
    interestRate: variant.rate,
    totalInstallments: variant.n,
    startDate,
    totalAmount: formatMoney(total),
    installmentAmount: formatMoney(installment),
    paidInstallments: payments.length,
    balance: formatMoney(total.minus(paid)),
    totalPaid: formatMoney(paid),
    scheduleType: 'FLAT',
    periodDays: variant.periodDays,
    status: 'active',
  };
  return { credit, payments, planted: { legacyId, plant: 'TERMS_REFUSED', codes: ['TERMS_REFUSED'], fields: variant.fields, story: variant.why } };
}

/** Minimum payments a plant needs on its credit. */
const NEEDS_PAYMENTS: Record<Plant, number> = {
  TOTAL_PAID_DIFFERS: 1,
  PAID_INSTALLMENTS_DIFFERS: 2,
  BALANCE_NOT_TOTAL_MINUS_PAID: 1,
  PORTION_DIFFERS: 2,
  OVERPAID: 1,
  TERMS_REFUSED: 0,
  INSTALLMENT_AMOUNT_DIFFERS: 0,
  BALANCE_DIFFERS: 1,
};

/**
 * A credit: drafted, its payments allocated by the domain's waterfall (`recompute`), its legacy figures set to the
 * domain's; then `plant`, if any, written over them. A draft the plant cannot act on (no payment to count twice,
 * nothing paid to be stale about, portions that happen to be whole cents) is drawn again.
 */
export function generateCredit(r: () => number, legacyId: string, clientId: string, asOf: string, plant: Plant | null, ids: () => string): GeneratedCredit {
  if (plant === 'TERMS_REFUSED') return refusedTerms(r, legacyId, clientId, asOf, ids);
  for (let attempt = 0; ; attempt++) {
    if (attempt > 200) throw new Error(`no credit could carry the plant ${plant} (credit ${legacyId})`);
    const d = draft(r, legacyId, clientId, asOf, plant ? NEEDS_PAYMENTS[plant] : 0);
    if (plant === 'OVERPAID') {
      const last = d.payments.at(-1)?.paymentDate ?? d.credit.startDate;
      const paid = d.payments.reduce((s, p) => s.plus(p.amount), new Decimal(0));
      if (daysBetween(last, asOf) < 2) continue;
      if (d.schedule.totalAmount.gt(paid)) d.payments.push({ amount: d.schedule.totalAmount.minus(paid), paymentDate: addDays(last, 1) });
      d.payments.push({ amount: d.schedule.installmentAmount, paymentDate: addDays(last, 2) });
    }
    if (plant && d.payments.length < NEEDS_PAYMENTS[plant]) continue;
    const applied = plant === 'OVERPAID' ? d.payments.slice(0, -1) : d.payments;
    const { state, allocations } = recompute(d.schedule, applied.map((p, i) => ({ id: String(i), ...p })));
    const c = d.credit;
    c.paidInstallments = state.paidInstallments;
    c.balance = formatMoney(state.balance);
    c.totalPaid = formatMoney(state.totalPaid);
    c.status = state.balance.isZero() ? 'paid' : 'active';
    const payments: LegacyPayment[] = d.payments.map((p, i) => {
      const a = allocations[i]?.allocation;
      return {
        id: '',
        creditId: legacyId,
        amount: formatMoney(p.amount),
        paymentDate: p.paymentDate,
        installmentNumber: a?.installmentNumber,
        principalPortion: a && formatMoney(a.principal),
        interestPortion: a && formatMoney(a.interest),
      };
    });
    const planted = plant ? plantOn(plant, c, payments, state.paidInstallments) : null;
    if (plant && !planted) continue;
    payments.forEach((p) => (p.id = ids()));
    if (planted?.plant === 'OVERPAID') planted.excessPaymentIds = [payments[payments.length - 1].id];
    return { credit: c, payments, planted };
  }
}

/** Writes `plant` over a credit whose figures are abono's; null when this credit cannot show it. */
function plantOn(plant: Plant, c: LegacyCredit, payments: LegacyPayment[], paidInstallments: number): PlantedCredit | null {
  const legacyId = c.id;
  const money = (x: Decimal.Value) => formatMoney(new Decimal(x));
  const some = payments[Math.floor(payments.length / 2)];
  switch (plant) {
    case 'TOTAL_PAID_DIFFERS':
      c.totalPaid = money(new Decimal(c.totalPaid).plus(some.amount));
      return { legacyId, plant, codes: ['TOTAL_PAID_DIFFERS', 'BALANCE_NOT_TOTAL_MINUS_PAID'], fields: ['total_paid'], story: `payment of ${some.amount} counted twice in total_paid (two signals fired); balance left as it was` };
    case 'PAID_INSTALLMENTS_DIFFERS':
      if (paidInstallments < 1) return null;
      c.paidInstallments = paidInstallments - 1;
      return { legacyId, plant, codes: ['PAID_INSTALLMENTS_DIFFERS'], fields: ['paid_installments'], story: 'paid_installments left stale, one behind the last payment' };
    case 'BALANCE_NOT_TOTAL_MINUS_PAID': {
      const last = payments[payments.length - 1];
      c.balance = money(new Decimal(c.balance).plus(last.amount));
      return { legacyId, plant, codes: ['BALANCE_NOT_TOTAL_MINUS_PAID', 'BALANCE_DIFFERS'], fields: ['balance'], story: `balance not lowered by the last payment (${last.amount}) while total_paid was raised` };
    }
    case 'BALANCE_DIFFERS': {
      const balance = new Decimal(c.balance);
      if (balance.isZero()) return null;
      const x = Decimal.min(balance, c.installmentAmount);
      c.balance = money(balance.minus(x));
      c.totalPaid = money(new Decimal(c.totalPaid).plus(x));
      return { legacyId, plant, codes: ['BALANCE_DIFFERS', 'TOTAL_PAID_DIFFERS'], fields: ['balance', 'total_paid'], story: `a payment of ${money(x)} counted in balance and total_paid that the payments table does not hold` };
    }
    case 'INSTALLMENT_AMOUNT_DIFFERS':
      c.installmentAmount = money(new Decimal(c.installmentAmount).plus('0.01'));
      return { legacyId, plant, codes: ['INSTALLMENT_AMOUNT_DIFFERS'], fields: ['installment_amount'], story: 'installment_amount rounded up a cent at creation' };
    case 'PORTION_DIFFERS': {
      let differs = false;
      for (const p of payments) {
        const f = floatRatioPortion(c, new Decimal(p.amount));
        // Different even once rounded to the cent, however the reconciliation compares the legacy's float tail.
        differs ||= !roundMoney(f.principal).eq(p.principalPortion!);
        p.principalPortion = f.principal;
        p.interestPortion = f.interest;
      }
      if (!differs) return null;
      return { legacyId, plant, codes: ['PORTION_DIFFERS'], fields: ['principal_portion', 'interest_portion'], story: 'principal_portion = amount × (amount/total_installments) / installment_amount, the float accessor' };
    }
    case 'OVERPAID': {
      const excess = payments[payments.length - 1];
      const total = new Decimal(c.totalPaid).plus(excess.amount);
      c.totalPaid = money(total);
      c.balance = money(new Decimal(c.totalAmount).minus(total));
      c.paidInstallments = c.totalInstallments;
      c.status = 'paid';
      return { legacyId, plant, codes: ['OVERPAID', 'TOTAL_PAID_DIFFERS', 'BALANCE_DIFFERS'], fields: ['total_paid', 'balance'], story: `a payment of ${excess.amount} taken after the credit was paid off; legacy balance ${c.balance}` };
    }
    default:
      return null;
  }
}
