import { Decimal, DomainError, Schedule, buildSchedule, formatMoney, validateTerms } from '../../src/domain';

export function refusal(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    return e as DomainError;
  }
  throw new Error('expected a DomainError, nothing was thrown');
}

export type RawTerms = Parameters<typeof validateTerms>[0];

export function schedule(raw: Partial<RawTerms> & { principal: string; interestRate: string; installments: unknown }): Schedule {
  return buildSchedule(validateTerms({ startDate: '2025-01-01', ...raw }));
}

/** Rows as [amount, principal, interest, cumulativeDue] strings. */
export function rows(s: Schedule): string[][] {
  return s.installments.map((i) => [formatMoney(i.amount), formatMoney(i.principal), formatMoney(i.interest), formatMoney(i.cumulativeDue)]);
}

export const m = (s: string): Decimal => new Decimal(s);
export const f = formatMoney;

export function sum(xs: Decimal[]): Decimal {
  return xs.reduce((a, b) => a.plus(b), new Decimal(0));
}
