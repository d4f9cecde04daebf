import { AsOfFigures, applyPayment, figuresAsOf, initialState, validateTerms, buildSchedule, CreditState } from '../../src/domain';
import { f, m, refusal } from './helpers';

// FLAT 1200.00 @ 0.01 × 12 from 2025-01-01 every 30 days: interest 144.00, 112.00 per instalment.
const terms = validateTerms({ principal: '1200.00', interestRate: '0.01', installments: 12, startDate: '2025-01-01' });
const s = buildSchedule(terms);

function show(x: AsOfFigures): unknown[] {
  return [x.expectedInstallments, x.pendingInstallments, x.overdueInstallments, f(x.overdueAmount), x.nextDueDate, x.nextDueAmount && f(x.nextDueAmount), x.arrearsBucket];
}

describe("the seed's expected instalments (ceil(days / 30) + 1, capped at n)", () => {
  const none = initialState(s);
  it.each<[string, string, unknown[]]>([
    ['the day before the start', '2024-12-31', [0, 0, 0, '0.00', '2025-01-01', '112.00', 'current']],
    ['day 0 (instalment 1 due today)', '2025-01-01', [1, 1, 0, '0.00', '2025-01-01', '112.00', 'current']],
    ['day 1 (instalment 1 now overdue)', '2025-01-02', [2, 2, 1, '112.00', '2025-01-01', '112.00', '1']],
    ['day 29', '2025-01-30', [2, 2, 1, '112.00', '2025-01-01', '112.00', '1']],
    ['day 30 (instalment 2 due today)', '2025-01-31', [2, 2, 1, '112.00', '2025-01-01', '112.00', '1']],
    ['day 31 (instalment 2 overdue)', '2025-02-01', [3, 3, 2, '224.00', '2025-01-01', '112.00', '2']],
    ['day 91', '2025-04-02', [5, 5, 4, '448.00', '2025-01-01', '112.00', '4+']],
    ['the last due date (day 330)', '2025-11-27', [12, 12, 11, '1232.00', '2025-01-01', '112.00', '4+']],
    ['past the last instalment (capped at n = 12)', '2026-06-01', [12, 12, 11, '1232.00', '2025-01-01', '112.00', '4+']],
  ])('%s: %s', (_label, asOf, expected) => {
    const x = figuresAsOf(terms, s, none, asOf);
    expect(x.asOf).toBe(asOf);
    expect(show(x)).toEqual(expected);
  });

  it('the last instalment falls due on day 330', () => {
    expect(s.installments[11].dueDate).toBe('2025-11-27');
  });
});

describe('with payments', () => {
  const paid = (amount: string): CreditState => applyPayment(s, initialState(s), { amount: m(amount), paymentDate: '2025-01-15' }).state;

  it('a partly paid instalment: overdueAmount = D_(expected−1) − totalPaid', () => {
    // 150.00 paid: instalment 1 paid, 38.00 of instalment 2. On day 31 expected 3, pending 2, overdue 1,
    // overdue amount D_2 − 150.00 = 224.00 − 150.00 = 74.00; next: instalment 2 (2025-01-31), 74.00 left.
    expect(show(figuresAsOf(terms, s, paid('150.00'), '2025-02-01'))).toEqual([3, 2, 1, '74.00', '2025-01-31', '74.00', '1']);
    // on day 30 nothing is overdue any more: D_1 − 150.00 < 0
    expect(show(figuresAsOf(terms, s, paid('150.00'), '2025-01-31'))).toEqual([2, 1, 0, '0.00', '2025-01-31', '74.00', 'current']);
  });

  it('equals the seed formula overdueInstallments × installmentAmount when no instalment is partly paid', () => {
    const x = figuresAsOf(terms, s, paid('224.00'), '2025-04-02');
    expect(show(x)).toEqual([5, 3, 2, '224.00', '2025-03-02', '112.00', '2']);
    expect(f(s.installmentAmount.times(x.overdueInstallments))).toBe(f(x.overdueAmount));
  });

  it('paying ahead never gives negative figures', () => {
    // 600.00 = 5 × 112.00 + 40.00: next is instalment 6 (day 150 = 2025-05-31) with 72.00 left
    expect(show(figuresAsOf(terms, s, paid('600.00'), '2025-01-02'))).toEqual([2, 0, 0, '0.00', '2025-05-31', '72.00', 'current']);
  });

  it('a paid-off credit has no next due date', () => {
    expect(show(figuresAsOf(terms, s, paid('1344.00'), '2026-06-01'))).toEqual([12, 0, 0, '0.00', null, null, 'current']);
  });

  it('refuses a bad asOf', () => {
    const e = refusal(() => figuresAsOf(terms, s, initialState(s), '2025-02-30'));
    expect(e.code).toBe('DATE_INVALID');
    expect(e.field).toBe('asOf');
  });

  it('periodDays other than 30', () => {
    const t = validateTerms({ principal: '70.00', interestRate: '0', installments: 10, periodDays: 7, startDate: '2025-01-01' });
    const sc = buildSchedule(t);
    const st = initialState(sc);
    expect(figuresAsOf(t, sc, st, '2025-01-08').expectedInstallments).toBe(2); // day 7: instalment 2 due today
    expect(figuresAsOf(t, sc, st, '2025-01-09').expectedInstallments).toBe(3); // day 8
    expect(f(figuresAsOf(t, sc, st, '2025-01-09').overdueAmount)).toBe('14.00');
  });
});
