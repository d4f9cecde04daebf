import { changedSinceImport, legacyPaymentOrder, LegacyFigures, LegacyPaymentFigures, reconcileCredit, termsRefused } from '../../src/domain';
import { runLegacyPayments } from '../../src/db/legacy-book';
import { schedule } from './helpers';

// FLAT 1000.00 at 5% over 4 from 2025-01-01: four instalments of 300.00 = 250.00 principal + 50.00 interest.
const flat4 = () => schedule({ principal: '1000.00', interestRate: '0.05', installments: 4 });

const pay = (legacyId: string, amount: string, paymentDate: string, extra: Partial<LegacyPaymentFigures> = {}): LegacyPaymentFigures => ({
  legacyId,
  amount,
  paymentDate,
  installmentNumber: null,
  principalPortion: null,
  interestPortion: null,
  ...extra,
});

// 300.00 fills instalment 1 (250.00 + 50.00); 350.00 fills instalment 2 and 50.00 of instalment 3
// (principal round(50 × 250 / 300) = 41.67), so 291.67 + 58.33. Paid 650.00, balance 550.00, 2 instalments paid.
const payments = () => [
  pay('1', '300.00', '2025-01-05', { installmentNumber: 1, principalPortion: '250.00', interestPortion: '50.00' }),
  pay('2', '350.00', '2025-02-05', { installmentNumber: 2, principalPortion: '291.67', interestPortion: '58.33' }),
];
const right: LegacyFigures = { totalAmount: '1200.00', installmentAmount: '300.00', paidInstallments: 2, balance: '550.00', totalPaid: '650.00' };

function reconcile(legacy: Partial<LegacyFigures>, ps = payments()) {
  const run = runLegacyPayments(flat4(), ps, (p) => `payment-${p.legacyId}`);
  return reconcileCredit({ ...right, ...legacy }, run.ordered, run.computation);
}
const codes = (ds: Array<{ code: string; field: string; amountAtStake: string | null }>) => ds.map((d) => [d.code, d.field, d.amountAtStake]);

describe('reconcileCredit: the legacy figures against abono’s, field by field', () => {
  it('finds nothing when the legacy system got every figure right', () => {
    expect(reconcile({})).toEqual([]);
  });

  it('a payment counted twice in total_paid (two signals firing): total paid and balance differ by that payment', () => {
    expect(codes(reconcile({ totalPaid: '950.00', balance: '250.00' }))).toEqual([
      ['TOTAL_PAID_DIFFERS', 'total_paid', '300.00'],
      ['BALANCE_DIFFERS', 'balance', '300.00'],
    ]);
  });

  it('paid_installments left stale: the instalments between the two counts are at stake', () => {
    const [d] = reconcile({ paidInstallments: 1 });
    expect(d).toMatchObject({ code: 'PAID_INSTALLMENTS_DIFFERS', legacyValue: '1', abonoValue: '2', amountAtStake: '300.00' });
  });

  it('a balance that is not total − paid is named as such, beside the balance that differs', () => {
    expect(codes(reconcile({ balance: '600.00' }))).toEqual([
      ['BALANCE_DIFFERS', 'balance', '50.00'],
      ['BALANCE_NOT_TOTAL_MINUS_PAID', 'balance', '50.00'],
    ]);
  });

  it('a schedule the legacy system rounded differently: the instalment, the total and so the balance', () => {
    expect(codes(reconcile({ installmentAmount: '300.01', totalAmount: '1200.04', balance: '550.04' }))).toEqual([
      ['TOTAL_AMOUNT_DIFFERS', 'total_amount', '0.04'],
      ['INSTALLMENT_AMOUNT_DIFFERS', 'installment_amount', '0.01'],
      ['BALANCE_DIFFERS', 'balance', '0.04'],
    ]);
  });

  it("float-ratio portions: each payment whose split is not abono's exact one, and a wrong instalment number", () => {
    const ps = payments();
    ps[1] = { ...ps[1], principalPortion: '291.666666666667', interestPortion: '58.333333333333', installmentNumber: 3 };
    const found = reconcile({}, ps);
    expect(found.map((d) => [d.code, d.field, d.paymentLegacyId, d.legacyValue, d.abonoValue])).toEqual([
      ['PORTION_DIFFERS', 'principal_portion', '2', '291.666666666667', '291.67'],
      ['PORTION_DIFFERS', 'interest_portion', '2', '58.333333333333', '58.33'],
      ['PORTION_DIFFERS', 'installment_number', '2', '3', '2'],
    ]);
  });

  it('an overpaid credit: the payments past the total are not applied and are listed, with the figures they distorted', () => {
    const ps = [pay('1', '1200.00', '2025-01-05'), pay('2', '100.00', '2025-02-05'), pay('3', '0.50', '2025-03-05')];
    const found = reconcile({ totalPaid: '1300.50', balance: '-100.50', paidInstallments: 4 }, ps);
    expect(found.map((d) => [d.code, d.field, d.paymentLegacyId, d.amountAtStake])).toEqual([
      ['TOTAL_PAID_DIFFERS', 'total_paid', null, '100.50'],
      ['BALANCE_DIFFERS', 'balance', null, '100.50'],
      ['OVERPAID', 'amount', '2', '100.00'],
      ['OVERPAID', 'amount', '3', '0.50'],
    ]);
    expect(found[2].detail).toMatch(/CREDIT_NOT_ACTIVE/);
  });

  it('a payment more than the balance is not applied; a later one that fits still is', () => {
    const ps = [pay('1', '1000.00', '2025-01-05'), pay('2', '300.00', '2025-02-05'), pay('3', '200.00', '2025-03-05')];
    const run = runLegacyPayments(flat4(), ps, (p) => p.legacyId);
    expect(run.computation.payments.map((o) => o.applied)).toEqual([true, false, true]);
    expect(run.computation.state.totalPaid.toFixed(2)).toBe('1200.00');
    const found = reconcileCredit({ ...right, totalPaid: '1500.00', balance: '-300.00', paidInstallments: 4 }, run.ordered, run.computation);
    expect(found.filter((d) => d.code === 'OVERPAID').map((d) => [d.paymentLegacyId, d.amountAtStake])).toEqual([['2', '300.00']]);
  });

  it('a payment dated before the start date is refused by the domain, with its reason', () => {
    const found = reconcile({ totalPaid: '650.00' }, [...payments(), pay('3', '10.00', '2024-12-01')]);
    expect(found.map((d) => [d.code, d.paymentLegacyId])).toEqual([['PAYMENT_REFUSED', '3']]);
    expect(found[0].detail).toMatch(/PAYMENT_DATE_INVALID/);
  });

  it('ignores what the export does not have', () => {
    expect(reconcile({ totalAmount: null, installmentAmount: null, paidInstallments: null, balance: null, totalPaid: null }, payments().map((p) => ({ ...p, installmentNumber: null, principalPortion: null, interestPortion: null })))).toEqual([]);
  });
});

describe('legacyPaymentOrder', () => {
  it('orders by payment date, then legacy id (numerically when both are whole numbers)', () => {
    const ps = [pay('10', '1', '2025-02-01'), pay('9', '1', '2025-02-01'), pay('11', '1', '2025-01-31'), pay('b', '1', '2025-03-01'), pay('a', '1', '2025-03-01')];
    expect(ps.sort(legacyPaymentOrder).map((p) => p.legacyId)).toEqual(['11', '9', '10', 'a', 'b']);
  });

  it('applies the payments in that order whatever order the file had', () => {
    const run = runLegacyPayments(flat4(), [payments()[1], payments()[0]], (p) => p.legacyId);
    expect(run.ordered.map((p) => p.legacyId)).toEqual(['1', '2']);
  });
});

describe('termsRefused and changedSinceImport', () => {
  it("a refused credit carries the domain's reason and its principal at stake", () => {
    expect(termsRefused('installments', '0', '1000.00', 'installments must be an integer from 1 to 600')).toEqual({
      code: 'TERMS_REFUSED',
      field: 'installments',
      legacyValue: '0',
      abonoValue: null,
      amountAtStake: '1000.00',
      paymentLegacyId: null,
      detail: 'installments must be an integer from 1 to 600',
    });
  });

  it('a re-import whose legacy rows changed: one difference per changed value, new against imported', () => {
    const found = changedSinceImport({ total_paid: '650.00', paid_installments: '2', payments: '2:abc' }, { total_paid: '700.00', paid_installments: '3', payments: '3:def' });
    expect(found.map((d) => [d.code, d.field, d.legacyValue, d.abonoValue, d.amountAtStake])).toEqual([
      ['ALREADY_IMPORTED_DIFFERENTLY', 'total_paid', '700.00', '650.00', '50.00'],
      ['ALREADY_IMPORTED_DIFFERENTLY', 'paid_installments', '3', '2', null],
      ['ALREADY_IMPORTED_DIFFERENTLY', 'payments', '3:def', '2:abc', null],
    ]);
    expect(changedSinceImport({ a: '1' }, { a: '1' })).toEqual([]);
  });
});
