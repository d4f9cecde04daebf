import { buildSchedule, validateTerms, Decimal, CreditTerms } from '../../src/domain';
import { f, refusal, rows, schedule, sum } from './helpers';

describe('validateTerms', () => {
  const good = { principal: '1000.00', interestRate: '0.05', installments: 4, startDate: '2025-01-01' };

  it('parses and applies the defaults (periodDays 30, FLAT)', () => {
    const t = validateTerms(good);
    expect(f(t.principal)).toBe('1000.00');
    expect(t.interestRate.toString()).toBe('0.05');
    expect(t).toMatchObject({ installments: 4, periodDays: 30, startDate: '2025-01-01', scheduleType: 'FLAT' });
  });

  it('accepts explicit periodDays, DECLINING and counts as digit strings', () => {
    const t = validateTerms({ ...good, installments: '12', periodDays: '7', scheduleType: 'DECLINING' });
    expect(t).toMatchObject({ installments: 12, periodDays: 7, scheduleType: 'DECLINING' });
    expect(validateTerms({ ...good, installments: 600, periodDays: 3660, startDate: '2025-01-01' }).installments).toBe(600);
    expect(validateTerms({ ...good, installments: 1, periodDays: 1 }).installments).toBe(1);
  });

  it.each<[string, Record<string, unknown>]>([
    ['principal', { principal: '0' }],
    ['principal', { principal: '0.00' }],
    ['principal', { principal: '-100.00' }],
    ['principal', { principal: 1000 }],
    ['principal', { principal: '1000.001' }],
    ['principal', { principal: '1000000000000.00' }],
    ['principal', { principal: '1e3' }],
    ['principal', { principal: undefined }],
    ['interestRate', { interestRate: '-0.01' }],
    ['interestRate', { interestRate: 0.05 }],
    ['interestRate', { interestRate: '0.05%' }],
    ['interestRate', { interestRate: '0.00000000001' }],
    ['interestRate', { interestRate: '1000' }],
    ['interestRate', { interestRate: null }],
    ['installments', { installments: 0 }],
    ['installments', { installments: 601 }],
    ['installments', { installments: 1.5 }],
    ['installments', { installments: -3 }],
    ['installments', { installments: '4.0' }],
    ['installments', { installments: null }],
    ['installments', { installments: Number.NaN }],
    ['periodDays', { periodDays: 0 }],
    ['periodDays', { periodDays: 3661 }],
    ['periodDays', { periodDays: 30.5 }],
    ['periodDays', { periodDays: 'monthly' }],
    ['startDate', { startDate: '2025-02-30' }],
    ['startDate', { startDate: '2025-1-1' }],
    ['startDate', { startDate: null }],
    ['startDate', { startDate: '9999-12-01', installments: 3 }],
    ['scheduleType', { scheduleType: 'flat' }],
    ['scheduleType', { scheduleType: 'BALLOON' }],
    ['scheduleType', { scheduleType: 1 }],
  ])('refuses a bad %s (%j) with TERMS_INVALID', (field, patch) => {
    const e = refusal(() => validateTerms({ ...good, ...patch } as Parameters<typeof validateTerms>[0]));
    expect(e.code).toBe('TERMS_INVALID');
    expect(e.field).toBe(field);
  });
});

describe('FLAT schedule, worked examples', () => {
  it('1000.00 @ 0.05 × 4: interest 200.00, total 1200.00, 300.00 each (250.00 + 50.00)', () => {
    const s = schedule({ principal: '1000.00', interestRate: '0.05', installments: 4 });
    expect(f(s.totalInterest)).toBe('200.00');
    expect(f(s.totalAmount)).toBe('1200.00');
    expect(f(s.installmentAmount)).toBe('300.00');
    expect(rows(s)).toEqual([
      ['300.00', '250.00', '50.00', '300.00'],
      ['300.00', '250.00', '50.00', '600.00'],
      ['300.00', '250.00', '50.00', '900.00'],
      ['300.00', '250.00', '50.00', '1200.00'],
    ]);
    expect(s.installments.map((i) => i.dueDate)).toEqual(['2025-01-01', '2025-01-31', '2025-03-02', '2025-04-01']);
    expect(s.installments.map((i) => i.number)).toEqual([1, 2, 3, 4]);
  });

  it('1000.00 @ 0.05 × 3: the remainder cent goes to the last instalment (383.33, 383.33, 383.34)', () => {
    const s = schedule({ principal: '1000.00', interestRate: '0.05', installments: 3 });
    expect(f(s.totalInterest)).toBe('150.00');
    expect(f(s.totalAmount)).toBe('1150.00');
    expect(f(s.installmentAmount)).toBe('383.33');
    expect(rows(s)).toEqual([
      ['383.33', '333.33', '50.00', '383.33'],
      ['383.33', '333.33', '50.00', '766.66'],
      ['383.34', '333.34', '50.00', '1150.00'],
    ]);
  });

  it('100.00 @ 0.0333 × 3: interest 9.99 → 3.33 each; total 109.99 → 36.66, 36.66, 36.67', () => {
    const s = schedule({ principal: '100.00', interestRate: '0.0333', installments: 3 });
    expect(f(s.totalInterest)).toBe('9.99');
    expect(rows(s)).toEqual([
      ['36.66', '33.33', '3.33', '36.66'],
      ['36.66', '33.33', '3.33', '73.32'],
      ['36.67', '33.34', '3.33', '109.99'],
    ]);
  });

  it('n = 1: one instalment of principal + interest, due on the start date', () => {
    const s = schedule({ principal: '1000.00', interestRate: '0.05', installments: 1 });
    expect(rows(s)).toEqual([['1050.00', '1000.00', '50.00', '1050.00']]);
    expect(f(s.installmentAmount)).toBe('1050.00');
    expect(s.installments[0].dueDate).toBe('2025-01-01');
  });

  it('zero rate: no interest, the remainder cent in the last instalment', () => {
    const s = schedule({ principal: '1000.00', interestRate: '0', installments: 3 });
    expect(f(s.totalInterest)).toBe('0.00');
    expect(rows(s)).toEqual([
      ['333.33', '333.33', '0.00', '333.33'],
      ['333.33', '333.33', '0.00', '666.66'],
      ['333.34', '333.34', '0.00', '1000.00'],
    ]);
  });

  it('600 instalments: 100000.00 @ 0.01 → 1166.67 × 599 + 1164.67', () => {
    const s = schedule({ principal: '100000.00', interestRate: '0.01', installments: 600 });
    expect(f(s.totalInterest)).toBe('600000.00');
    expect(f(s.totalAmount)).toBe('700000.00');
    expect(s.installments).toHaveLength(600);
    expect(rows(s)[0]).toEqual(['1166.67', '166.67', '1000.00', '1166.67']);
    expect(rows(s)[598]).toEqual(['1166.67', '166.67', '1000.00', '698835.33']);
    expect(rows(s)[599]).toEqual(['1164.67', '164.67', '1000.00', '700000.00']);
    expect(f(sum(s.installments.map((i) => i.amount)))).toBe('700000.00');
    expect(f(sum(s.installments.map((i) => i.principal)))).toBe('100000.00');
    expect(f(sum(s.installments.map((i) => i.interest)))).toBe('600000.00');
    expect(s.installments[599].dueDate).toBe('2074-03-15');
  });

  it('principal near 10^12: 999999999999.99 @ 0.0001 × 12', () => {
    const s = schedule({ principal: '999999999999.99', interestRate: '0.0001', installments: 12 });
    // 999999999999.99 × 0.0012 = 1199999999.999988 → 1200000000.00
    expect(f(s.totalInterest)).toBe('1200000000.00');
    expect(f(s.totalAmount)).toBe('1001199999999.99');
    // 1001199999999.99 / 12 = 83433333333.3325 → 83433333333.33; last = total − 11 × that
    expect(f(s.installmentAmount)).toBe('83433333333.33');
    expect(rows(s)[0]).toEqual(['83433333333.33', '83333333333.33', '100000000.00', '83433333333.33']);
    expect(rows(s)[11]).toEqual(['83433333333.36', '83333333333.36', '100000000.00', '1001199999999.99']);
    expect(f(sum(s.installments.map((i) => i.principal)))).toBe('999999999999.99');
  });

  it('due dates follow periodDays', () => {
    const s = schedule({ principal: '100.00', interestRate: '0', installments: 3, periodDays: 7, startDate: '2024-02-27' });
    expect(s.installments.map((i) => i.dueDate)).toEqual(['2024-02-27', '2024-03-05', '2024-03-12']);
  });
});

describe('DECLINING schedule, worked examples', () => {
  it('1000.00 @ 0.05 × 3: annuity 367.21; interest 50.00, 34.14, 17.49', () => {
    // 1.05^3 = 1.157625; 50 / (1 − 1/1.157625) = 367.2085… → 367.21
    // i1: interest round(1000 × 0.05) = 50.00, principal 317.21, remaining 682.79
    // i2: interest round(682.79 × 0.05 = 34.1395) = 34.14, principal 333.07, remaining 349.72
    // i3: interest round(349.72 × 0.05 = 17.486) = 17.49, principal 349.72 (closes) → amount 367.21
    const s = schedule({ principal: '1000.00', interestRate: '0.05', installments: 3, scheduleType: 'DECLINING' });
    expect(f(s.installmentAmount)).toBe('367.21');
    expect(rows(s)).toEqual([
      ['367.21', '317.21', '50.00', '367.21'],
      ['367.21', '333.07', '34.14', '734.42'],
      ['367.21', '349.72', '17.49', '1101.63'],
    ]);
    expect(f(s.totalInterest)).toBe('101.63');
    expect(f(s.totalAmount)).toBe('1101.63');
  });

  it('n = 1: principal × (1 + r)', () => {
    const s = schedule({ principal: '1000.00', interestRate: '0.05', installments: 1, scheduleType: 'DECLINING' });
    expect(rows(s)).toEqual([['1050.00', '1000.00', '50.00', '1050.00']]);
    expect(f(s.installmentAmount)).toBe('1050.00');
  });

  it('zero rate: round(P / n), the last closes the principal', () => {
    const s = schedule({ principal: '1000.00', interestRate: '0', installments: 3, scheduleType: 'DECLINING' });
    expect(f(s.installmentAmount)).toBe('333.33');
    expect(rows(s)).toEqual([
      ['333.33', '333.33', '0.00', '333.33'],
      ['333.33', '333.33', '0.00', '666.66'],
      ['333.34', '333.34', '0.00', '1000.00'],
    ]);
  });

  it('600 instalments: 100000.00 @ 0.01 → annuity 1002.56, last closes at 1018.34', () => {
    // 1000 / (1 − 1.01^−600) = 1002.5600… → 1002.56 (a shade low, so the last instalment absorbs
    // 600 periods of compounded rounding: principal 1008.26 + interest 10.08).
    const s = schedule({ principal: '100000.00', interestRate: '0.01', installments: 600, scheduleType: 'DECLINING' });
    expect(f(s.installmentAmount)).toBe('1002.56');
    expect(rows(s)[0]).toEqual(['1002.56', '2.56', '1000.00', '1002.56']);
    expect(rows(s)[1]).toEqual(['1002.56', '2.59', '999.97', '2005.12']);
    expect(rows(s)[599]).toEqual(['1018.34', '1008.26', '10.08', '601551.78']);
    expect(f(s.totalInterest)).toBe('501551.78');
    expect(f(s.totalAmount)).toBe('601551.78');
    expect(f(sum(s.installments.map((i) => i.amount)))).toBe('601551.78');
    expect(f(sum(s.installments.map((i) => i.principal)))).toBe('100000.00');
    expect(f(sum(s.installments.map((i) => i.interest)))).toBe('501551.78');
  });

  it('principal near 10^12 keeps cents exact', () => {
    const s = schedule({ principal: '999999999999.99', interestRate: '0.0125', installments: 360, scheduleType: 'DECLINING' });
    expect(f(sum(s.installments.map((i) => i.principal)))).toBe('999999999999.99');
    expect(f(sum(s.installments.map((i) => i.amount)))).toBe(f(s.totalAmount));
    expect(s.installments.every((i) => i.amount.gt(0) && !i.principal.isNeg() && !i.interest.isNeg())).toBe(true);
  });
});

describe('SCHEDULE_INVALID', () => {
  it('refuses an instalment that rounds to 0 (1.00 over 600, FLAT)', () => {
    const e = refusal(() => schedule({ principal: '1.00', interestRate: '0', installments: 600 }));
    expect(e.code).toBe('SCHEDULE_INVALID');
    expect(e.field).toBe('installmentAmount');
    expect(e.meta).toEqual({ installment: '1' });
  });

  it('refuses a last instalment driven ≤ 0 by rounding up (10.00 over 600 → 0.02 × 599 > 10.00)', () => {
    for (const scheduleType of ['FLAT', 'DECLINING'] as const) {
      const e = refusal(() => schedule({ principal: '10.00', interestRate: '0', installments: 600, scheduleType }));
      expect(e.code).toBe('SCHEDULE_INVALID');
      expect(e.field).toBe('installmentAmount');
      expect(e.meta).toEqual({ installment: '600' });
    }
  });

  it('refuses a negative principal portion (FLAT 0.01 @ 33.3333 × 3)', () => {
    // interest round(0.01 × 33.3333 × 3 = 0.999999) = 1.00; total 1.01; amount round(0.33666…) = 0.34;
    // interest/instalment round(0.3333…) = 0.33 → principal 0.01 on 1 and 2, so the last one gets −0.01.
    const e = refusal(() => schedule({ principal: '0.01', interestRate: '33.3333', installments: 3 }));
    expect(e.code).toBe('SCHEDULE_INVALID');
    expect(e.field).toBe('principal');
    expect(e.meta).toEqual({ installment: '3' });
  });

  it('refuses a negative interest portion (FLAT 100.00 @ 0.0000666667 × 15: interest 0.10 = 0.01 × 14 + −0.04)', () => {
    // total interest round(100 × 0.0000666667 × 15 = 0.1000000…5) = 0.10; per instalment round(0.00666…) = 0.01
    const e = refusal(() => schedule({ principal: '100.00', interestRate: '0.0000666667', installments: 15 }));
    expect(e.code).toBe('SCHEDULE_INVALID');
    expect(e.field).toBe('interest');
    expect(e.meta).toEqual({ installment: '15' });
  });

  it('buildSchedule re-checks terms built by hand', () => {
    const t: CreditTerms = {
      principal: new Decimal('100.00'),
      interestRate: new Decimal('0.01'),
      installments: 3,
      periodDays: 30,
      startDate: '2025-01-01',
      scheduleType: 'FLAT',
    };
    expect(refusal(() => buildSchedule({ ...t, installments: 0 })).field).toBe('installments');
    expect(refusal(() => buildSchedule({ ...t, installments: 601 })).field).toBe('installments');
    expect(refusal(() => buildSchedule({ ...t, periodDays: 0 })).field).toBe('periodDays');
    expect(refusal(() => buildSchedule({ ...t, principal: new Decimal('0') })).field).toBe('principal');
    expect(refusal(() => buildSchedule({ ...t, principal: new Decimal('1.001') })).field).toBe('principal');
    expect(refusal(() => buildSchedule({ ...t, interestRate: new Decimal('-0.01') })).field).toBe('interestRate');
    expect(refusal(() => buildSchedule({ ...t, scheduleType: 'X' as never })).field).toBe('scheduleType');
    expect(refusal(() => buildSchedule({ ...t, installments: 0 })).code).toBe('TERMS_INVALID');
  });
});

describe('the largest amount abono stores', () => {
  it('refuses a credit whose total to repay would exceed 16 integer digits', () => {
    const { buildSchedule, validateTerms } = require('../../src/domain');
    const terms = validateTerms({ principal: '999999999999.00', interestRate: '900', installments: 600, startDate: '2026-01-01' });
    expect(() => buildSchedule(terms)).toThrow(expect.objectContaining({ code: 'SCHEDULE_INVALID', field: 'totalAmount' }));
  });
});

describe('installmentProgress', () => {
  it('splits totalPaid over the instalments in order', () => {
    const { buildSchedule, validateTerms, installmentProgress, Decimal, formatMoney } = require('../../src/domain');
    const s = buildSchedule(validateTerms({ principal: '1000.00', interestRate: '0.05', installments: 4, startDate: '2026-01-01' }));
    const rows = installmentProgress(s, new Decimal('650.00')).map((p: any) => [p.installment.number, formatMoney(p.paid), formatMoney(p.remaining), p.status]);
    expect(rows).toEqual([
      [1, '300.00', '0.00', 'PAID'],
      [2, '300.00', '0.00', 'PAID'],
      [3, '50.00', '250.00', 'PARTIAL'],
      [4, '0.00', '300.00', 'UNPAID'],
    ]);
  });
});
