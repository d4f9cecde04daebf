import { addDays, daysBetween, isValidDate, maxDate, minDate, parseDate, todayIn } from '../../src/domain';
import { refusal } from './helpers';

describe('parseDate', () => {
  it.each(['2025-01-01', '2024-02-29', '2000-02-29', '0001-01-01', '9999-12-31', '2025-12-31'])('accepts %s', (d) => {
    expect(parseDate(d, 'startDate')).toBe(d);
  });

  it.each<[unknown]>([
    ['2025-02-30'],
    ['2025-02-29'],
    ['1900-02-29'],
    ['2025-04-31'],
    ['2025-13-01'],
    ['2025-00-10'],
    ['2025-01-00'],
    ['0000-01-01'],
    ['2025-1-1'],
    ['2025/01/01'],
    ['2025-01-01T00:00:00Z'],
    [' 2025-01-01'],
    [''],
    [20250101],
    [null],
    [new Date('2025-01-01')],
  ])('refuses %j with DATE_INVALID', (d) => {
    const e = refusal(() => parseDate(d, 'asOf'));
    expect(e.code).toBe('DATE_INVALID');
    expect(e.field).toBe('asOf');
  });

  it('uses the code it is given', () => {
    const e = refusal(() => parseDate('2025-02-30', 'startDate', 'TERMS_INVALID'));
    expect(e.code).toBe('TERMS_INVALID');
    expect(e.field).toBe('startDate');
  });
});

describe('addDays / daysBetween', () => {
  it.each([
    ['2025-01-01', 0, '2025-01-01'],
    ['2025-01-01', 30, '2025-01-31'],
    ['2025-01-31', 1, '2025-02-01'],
    ['2024-02-28', 1, '2024-02-29'],
    ['2025-02-28', 1, '2025-03-01'],
    ['2025-03-01', -1, '2025-02-28'],
    ['2024-12-31', 1, '2025-01-01'],
    ['2000-01-01', 366, '2001-01-01'],
    ['1970-01-01', -1, '1969-12-31'],
    ['2025-01-01', 599 * 30, '2074-03-15'],
  ])('%s + %d = %s', (d, n, expected) => {
    expect(addDays(d, n)).toBe(expected);
    expect(daysBetween(d, expected)).toBe(n);
    expect(daysBetween(expected, d)).toBe(0 - n);
  });

  it('agrees with Date.UTC over many days', () => {
    const base = Date.UTC(2020, 0, 1);
    for (let i = -4000; i <= 4000; i += 7) {
      const iso = new Date(base + i * 86400000).toISOString().slice(0, 10);
      expect(addDays('2020-01-01', i)).toBe(iso);
      expect(daysBetween('2020-01-01', iso)).toBe(i);
    }
  });

  it('refuses results beyond 9999-12-31 and non-integer day counts', () => {
    expect(refusal(() => addDays('9999-12-31', 1)).code).toBe('DATE_INVALID');
    expect(refusal(() => addDays('0001-01-01', -1)).code).toBe('DATE_INVALID');
    expect(refusal(() => addDays('2025-01-01', 1.5)).code).toBe('DATE_INVALID');
    expect(refusal(() => addDays('2025-02-30', 1)).code).toBe('DATE_INVALID');
  });
});

describe('todayIn', () => {
  const now = new Date('2025-03-01T03:30:00Z');
  it('gives the calendar date in the time zone', () => {
    expect(todayIn('UTC', now)).toBe('2025-03-01');
    expect(todayIn('America/Bogota', now)).toBe('2025-02-28');
    expect(todayIn('Asia/Tokyo', now)).toBe('2025-03-01');
    expect(todayIn('Pacific/Kiritimati', new Date('2025-12-31T10:00:00Z'))).toBe('2026-01-01');
  });
  it('refuses an unknown time zone', () => {
    expect(refusal(() => todayIn('Mars/Olympus', now)).code).toBe('DATE_INVALID');
  });
  it('defaults to now', () => {
    expect(todayIn('UTC')).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});

describe('isValidDate / minDate / maxDate', () => {
  it('works on YYYY-MM-DD strings', () => {
    expect(isValidDate('2024-02-29')).toBe(true);
    expect(isValidDate('2023-02-29')).toBe(false);
    expect(isValidDate(20240229)).toBe(false);
    expect(minDate('2025-01-02', '2024-12-31')).toBe('2024-12-31');
    expect(maxDate('2025-01-02', '2024-12-31')).toBe('2025-01-02');
    expect(refusal(() => daysBetween('2025-01-01', 'tomorrow')).code).toBe('DATE_INVALID');
  });
});
