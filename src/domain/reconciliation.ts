/**
 * Reconciling a legacy credit with abono's computation of it (DESIGN.md §10): the one place that says where the
 * legacy system's persisted figures were wrong. Pure: given the legacy persisted figures, the legacy payments (in
 * the order they were applied) and what abono computed from the same terms and payments (its schedule, and each
 * payment through the domain's own applyPayment), it lists every difference with a code, the two values and the
 * amount at stake.
 */
import { Decimal, formatMoney } from './money';
import { cumulativeDue, Schedule } from './schedule';
import type { CreditState, PaymentAllocation } from './waterfall';

export const DIFFERENCE_CODES = [
  'TOTAL_PAID_DIFFERS',
  'BALANCE_DIFFERS',
  'BALANCE_NOT_TOTAL_MINUS_PAID',
  'PAID_INSTALLMENTS_DIFFERS',
  'INSTALLMENT_AMOUNT_DIFFERS',
  'TOTAL_AMOUNT_DIFFERS',
  'PORTION_DIFFERS',
  'OVERPAID',
  'PAYMENT_REFUSED',
  'TERMS_REFUSED',
  'ALREADY_IMPORTED_DIFFERENTLY',
] as const;
export type DifferenceCode = (typeof DIFFERENCE_CODES)[number];

/** The legacy system's persisted figures of a credit, as decimal strings; null where the export lacks them. */
export interface LegacyFigures {
  totalAmount: string | null;
  installmentAmount: string | null;
  paidInstallments: number | null;
  balance: string | null;
  totalPaid: string | null;
}

/** A legacy payment; the portions and instalment number are the legacy system's, when the export has them. */
export interface LegacyPaymentFigures {
  legacyId: string;
  amount: string;
  paymentDate: string;
  installmentNumber: number | null;
  principalPortion: string | null;
  interestPortion: string | null;
}

/** What abono made of a legacy payment: applied with its allocation, or refused by the domain (nothing applied). */
export type ImportedPaymentOutcome = { applied: true; allocation: PaymentAllocation } | { applied: false; code: string; detail: string };

export interface AbonoComputation {
  schedule: Pick<Schedule, 'totalAmount' | 'installmentAmount' | 'installments'>;
  state: CreditState;
  /** One per legacy payment, in the same order. */
  payments: ImportedPaymentOutcome[];
}

export interface Difference {
  code: DifferenceCode;
  /** The legacy column (credit) or payment column the difference is in. */
  field: string;
  legacyValue: string | null;
  abonoValue: string | null;
  /** The money the difference is about (always ≥ 0), or null when it is not about an amount. */
  amountAtStake: string | null;
  paymentLegacyId: string | null;
  detail: string;
}

const money = (s: string) => new Decimal(s);
const gap = (a: Decimal, b: Decimal) => formatMoney(a.minus(b).abs());
// Legacy figures come as exported (a float column may carry many decimals); they are shown rounded to no digit less.
const show = (s: string) => new Decimal(s).toFixed();

/**
 * Legacy payments in the order abono applies them: payment date, then legacy id (numerically when both ids are
 * whole numbers, as database ids usually are; as text otherwise).
 */
export function legacyPaymentOrder(a: { paymentDate: string; legacyId: string }, b: { paymentDate: string; legacyId: string }): number {
  if (a.paymentDate !== b.paymentDate) return a.paymentDate < b.paymentDate ? -1 : 1;
  const digits = /^\d+$/;
  if (digits.test(a.legacyId) && digits.test(b.legacyId)) {
    const x = a.legacyId.replace(/^0+(?=\d)/, '');
    const y = b.legacyId.replace(/^0+(?=\d)/, '');
    if (x.length !== y.length) return x.length - y.length;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a.legacyId < b.legacyId ? -1 : a.legacyId > b.legacyId ? 1 : 0;
}

function moneyDifference(code: DifferenceCode, field: string, legacy: string | null, abono: Decimal, detail: string): Difference[] {
  if (legacy === null || money(legacy).eq(abono)) return [];
  return [{ code, field, legacyValue: show(legacy), abonoValue: formatMoney(abono), amountAtStake: gap(money(legacy), abono), paymentLegacyId: null, detail }];
}

/** The credit's persisted figures against abono's (see the module comment). */
function creditDifferences(legacy: LegacyFigures, abono: AbonoComputation): Difference[] {
  const { schedule, state } = abono;
  const out: Difference[] = [
    ...moneyDifference('TOTAL_AMOUNT_DIFFERS', 'total_amount', legacy.totalAmount, schedule.totalAmount, 'the total to repay differs from the schedule abono computes from the terms'),
    ...moneyDifference('INSTALLMENT_AMOUNT_DIFFERS', 'installment_amount', legacy.installmentAmount, schedule.installmentAmount, 'the regular instalment differs from the schedule abono computes from the terms'),
    ...moneyDifference('TOTAL_PAID_DIFFERS', 'total_paid', legacy.totalPaid, state.totalPaid, 'the persisted total paid differs from the sum of the payments abono applied'),
    ...moneyDifference('BALANCE_DIFFERS', 'balance', legacy.balance, state.balance, "the persisted balance differs from abono's (total − paid, from the applied payments)"),
  ];
  if (legacy.balance !== null && legacy.totalAmount !== null && legacy.totalPaid !== null) {
    const own = money(legacy.totalAmount).minus(money(legacy.totalPaid));
    if (!money(legacy.balance).eq(own)) {
      out.push({
        code: 'BALANCE_NOT_TOTAL_MINUS_PAID',
        field: 'balance',
        legacyValue: show(legacy.balance),
        abonoValue: formatMoney(own),
        amountAtStake: gap(money(legacy.balance), own),
        paymentLegacyId: null,
        detail: "the legacy balance is not the legacy total_amount − total_paid (abono's value here is that difference)",
      });
    }
  }
  if (legacy.paidInstallments !== null && legacy.paidInstallments !== state.paidInstallments) {
    const n = schedule.installments.length;
    const due = (k: number) => cumulativeDue(schedule as Schedule, Math.max(0, Math.min(n, k)));
    out.push({
      code: 'PAID_INSTALLMENTS_DIFFERS',
      field: 'paid_installments',
      legacyValue: String(legacy.paidInstallments),
      abonoValue: String(state.paidInstallments),
      amountAtStake: gap(due(legacy.paidInstallments), due(state.paidInstallments)),
      paymentLegacyId: null,
      detail: 'the persisted count of paid instalments differs from the instalments the applied payments fill',
    });
  }
  return out;
}

/** A payment's legacy portions and instalment number against abono's allocation of it. */
function paymentDifferences(p: LegacyPaymentFigures, a: PaymentAllocation): Difference[] {
  const out: Difference[] = [];
  const portion = (field: string, legacy: string | null, abono: Decimal) => {
    if (legacy === null || money(legacy).eq(abono)) return;
    out.push({ code: 'PORTION_DIFFERS', field, legacyValue: show(legacy), abonoValue: formatMoney(abono), amountAtStake: gap(money(legacy), abono), paymentLegacyId: p.legacyId, detail: `payment ${p.legacyId}: the legacy ${field} differs from abono's exact split` });
  };
  portion('principal_portion', p.principalPortion, a.principal);
  portion('interest_portion', p.interestPortion, a.interest);
  if (p.installmentNumber !== null && p.installmentNumber !== a.installmentNumber) {
    out.push({ code: 'PORTION_DIFFERS', field: 'installment_number', legacyValue: String(p.installmentNumber), abonoValue: String(a.installmentNumber), amountAtStake: null, paymentLegacyId: p.legacyId, detail: `payment ${p.legacyId}: the legacy instalment number differs from the first instalment abono's waterfall fills` });
  }
  return out;
}

/** Every difference between the legacy credit and abono's computation of it; [] when they agree. */
export function reconcileCredit(legacy: LegacyFigures, payments: LegacyPaymentFigures[], abono: AbonoComputation): Difference[] {
  const out = creditDifferences(legacy, abono);
  payments.forEach((p, i) => {
    const outcome = abono.payments[i];
    if (outcome.applied) {
      out.push(...paymentDifferences(p, outcome.allocation));
      return;
    }
    const excess = outcome.code === 'AMOUNT_EXCEEDS_BALANCE' || outcome.code === 'CREDIT_NOT_ACTIVE';
    out.push({
      code: excess ? 'OVERPAID' : 'PAYMENT_REFUSED',
      field: 'amount',
      legacyValue: show(p.amount),
      abonoValue: null,
      amountAtStake: formatMoney(money(p.amount)),
      paymentLegacyId: p.legacyId,
      detail: `payment ${p.legacyId} of ${p.paymentDate} was not applied: ${outcome.detail} (${outcome.code})`,
    });
  });
  return out;
}

/** A credit whose terms abono refuses: the domain's reason, and the principal at stake. Nothing else is compared. */
export function termsRefused(field: string | null, legacyValue: string | null, principal: string | null, reason: string): Difference {
  let amountAtStake: string | null = null;
  try {
    amountAtStake = principal === null ? null : formatMoney(money(principal).abs());
  } catch {
    amountAtStake = null;
  }
  return { code: 'TERMS_REFUSED', field: field ?? 'terms', legacyValue, abonoValue: null, amountAtStake, paymentLegacyId: null, detail: reason };
}

/**
 * A credit an earlier import loaded, whose legacy rows changed since: one difference per changed value (the new
 * legacy value against the one imported then). Nothing is overwritten.
 */
export function changedSinceImport(imported: Record<string, string | null>, now: Record<string, string | null>): Difference[] {
  const out: Difference[] = [];
  for (const field of new Set([...Object.keys(imported), ...Object.keys(now)])) {
    const before = imported[field] ?? null;
    const after = now[field] ?? null;
    if (before === after) continue;
    let amountAtStake: string | null = null;
    if (before !== null && after !== null && /^-?\d+(\.\d+)?$/.test(before) && /^-?\d+(\.\d+)?$/.test(after) && field !== 'paid_installments' && field !== 'total_installments') {
      amountAtStake = gap(money(after), money(before));
    }
    out.push({ code: 'ALREADY_IMPORTED_DIFFERENTLY', field, legacyValue: after, abonoValue: before, amountAtStake, paymentLegacyId: null, detail: `already imported with ${field} = ${before ?? '(none)'}; the legacy rows now say ${after ?? '(none)'}: refused, not overwritten` });
  }
  return out;
}
