import { buildSchedule, formatMoney, validateTerms } from '../../src/domain';
import type { LegacyCreditRow } from '../../src/imports/legacy-rows';
import { abonoRate, legacyTerms } from '../../src/imports/legacy-terms';
import { DEFAULT_MAPPING, parseMapping } from '../../src/imports/mapping';

const row = (over: Partial<LegacyCreditRow> = {}): LegacyCreditRow => ({
  line: 2,
  id: '1001',
  clientId: 'CL-1',
  amount: '1000.00',
  interestRate: '5',
  totalInstallments: 12,
  startDate: '2024-01-15',
  totalAmount: '1600.00',
  installmentAmount: '133.33',
  paidInstallments: 0,
  balance: '1600.00',
  totalPaid: '0.00',
  ...over,
});

describe('legacy terms to abono terms', () => {
  it('reads the legacy interest_rate as percent per period: 5 % a month on 1,000.00 over 12 months is 1,600.00 to repay', () => {
    const t = legacyTerms(row(), DEFAULT_MAPPING);
    if (!t.ok) throw new Error(t.reason.message);
    expect(t.input).toEqual({ clientId: 'CL-1', principal: '1000.00', interestRate: '0.05', installments: 12, periodDays: 30, startDate: '2024-01-15', scheduleType: 'FLAT', externalId: '1001' });
    expect(formatMoney(t.schedule.totalAmount)).toBe('1600.00');
    expect(formatMoney(t.schedule.installmentAmount)).toBe('133.33');
    expect(t.schedule).toEqual(buildSchedule(validateTerms(t.input)));
  });

  it('converts the percent exactly, whatever its decimals', () => {
    expect(abonoRate('2.5', 'percent')).toBe('0.025');
    expect(abonoRate('0', 'percent')).toBe('0');
    expect(abonoRate('7.12345678', 'percent')).toBe('0.0712345678');
    expect(abonoRate('0.05', 'fraction')).toBe('0.05');
  });

  it('takes the rate as a fraction when the mapping says so', () => {
    const t = legacyTerms(row({ interestRate: '0.05' }), parseMapping('interestRateUnit: fraction'));
    expect(t.ok && t.input.interestRate).toBe('0.05');
  });

  it("uses the export's schedule type and period, translated by the mapping", () => {
    const m = parseMapping('scheduleTypes: { "francés": DECLINING, fijo: FLAT }');
    const declining = legacyTerms(row({ scheduleType: 'Francés', periodDays: 15 }), m);
    expect(declining.ok && declining.terms).toMatchObject({ scheduleType: 'DECLINING', periodDays: 15 });
    expect(legacyTerms(row({ scheduleType: 'declining' }), DEFAULT_MAPPING)).toMatchObject({ ok: true, terms: { scheduleType: 'DECLINING' } });
    expect(legacyTerms(row({ scheduleType: 'fijo' }), m)).toMatchObject({ ok: true, terms: { scheduleType: 'FLAT' } });
  });

  it.each([
    ['no instalments', { totalInstallments: 0 }, 'TERMS_INVALID', 'installments', 'installments must be an integer from 1 to 600'],
    ['more instalments than abono takes', { totalInstallments: 720 }, 'TERMS_INVALID', 'installments', 'installments must be an integer from 1 to 600'],
    ['a negative rate', { interestRate: '-2' }, 'TERMS_INVALID', 'interestRate', 'interestRate must be a decimal string'],
    ['a rate finer than abono keeps', { interestRate: '1.123456789' }, 'TERMS_INVALID', 'interestRate', 'at most 3 integer digits and 10 decimals'],
    ['a zero principal', { amount: '0.00' }, 'TERMS_INVALID', 'principal', 'principal must be greater than 0'],
    ['a principal too small to spread', { amount: '5.00', interestRate: '0', totalInstallments: 600 }, 'SCHEDULE_INVALID', 'installmentAmount', 'the principal is too small to spread over 600 instalments'],
    ['an unknown schedule type', { scheduleType: 'semanal' }, 'TERMS_INVALID', 'scheduleType', 'scheduleType must be "FLAT" or "DECLINING"'],
  ])('refuses %s with the domain reason', (_what, over, code, field, message) => {
    const t = legacyTerms(row(over as Partial<LegacyCreditRow>), DEFAULT_MAPPING);
    expect(t.ok).toBe(false);
    if (t.ok) return;
    expect(t.code).toBe('TERMS_REFUSED');
    expect(t.reason.code).toBe(code);
    expect(t.reason.field).toBe(field);
    expect(t.reason.message).toContain(message);
  });
});
