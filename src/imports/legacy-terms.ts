import type { CreateCreditInput } from '../db/credits';
import { CreditTerms, Decimal, DomainErrorCode, Schedule, buildSchedule, isDomainError, validateTerms } from '../domain';
import type { LegacyCreditRow } from './legacy-rows';
import type { LegacyMapping } from './mapping';

/**
 * A legacy credit's terms, as abono's credit creation takes them, checked by the domain module itself.
 *
 * What the legacy figures mean (the seeds): credits are FLAT — the payment model's
 * `principal_portion = amount × (principal / total_installments) / installment_amount` only makes sense when every
 * instalment carries the same share of principal — with a period of 30 days (`getExpectedInstallments` counts
 * `ceil(days / 30) + 1`), and `total_amount` / `installment_amount` are fixed at creation from `amount`,
 * `interest_rate` and `total_installments`. Their `interest_rate` is a percentage per period, the way these
 * lenders quote it ("5" = 5 % a month): so `total_amount = amount × (1 + interest_rate / 100 × total_installments)`,
 * which is abono's FLAT schedule with `interestRate = interest_rate / 100` (DESIGN.md §3: the rate is per period).
 * A lender whose export already holds fractions says `interestRateUnit: fraction` in the mapping. Whether the
 * legacy `total_amount` and `installment_amount` agree with abono's is then the reconciliation's finding
 * (INSTALLMENT_AMOUNT_DIFFERS), never an assumption here. `schedule_type` and `period_days`, when the export has
 * them, override FLAT and 30.
 */

export interface AcceptedTerms {
  ok: true;
  /** What createCredit takes (money and rate as decimal strings), externalId = the legacy id. */
  input: CreateCreditInput;
  terms: CreditTerms;
  /** The schedule the domain computes from the terms. */
  schedule: Schedule;
}

export interface RefusedTerms {
  ok: false;
  code: 'TERMS_REFUSED';
  /** The domain's own refusal: its code (TERMS_INVALID, SCHEDULE_INVALID), the field at fault and its message. */
  reason: { code: DomainErrorCode; field: string | null; message: string };
}

/** interest_rate in abono's unit: a fraction per period ("5" percent → "0.05"). */
export function abonoRate(legacyRate: string, unit: LegacyMapping['interestRateUnit']): string {
  return unit === 'fraction' ? legacyRate : new Decimal(legacyRate).div(100).toFixed();
}

/** The legacy schedule_type in abono's words: the mapping's translation, else the value itself upper-cased. */
function scheduleTypeOf(raw: string | undefined, mapping: Pick<LegacyMapping, 'scheduleTypes'>): string | undefined {
  if (raw === undefined) return undefined;
  return mapping.scheduleTypes[raw.toLowerCase()] ?? raw.toUpperCase();
}

/**
 * The legacy row's terms, accepted with abono's schedule, or refused with the domain's reason (TERMS_REFUSED): an
 * instalment count outside 1..600, a negative or over-precise rate, a principal that cannot spread over the
 * instalments, an unknown schedule type.
 */
export function legacyTerms(row: LegacyCreditRow, mapping: Pick<LegacyMapping, 'interestRateUnit' | 'scheduleTypes'>): AcceptedTerms | RefusedTerms {
  try {
    const input: CreateCreditInput = {
      clientId: row.clientId,
      principal: row.amount,
      interestRate: abonoRate(row.interestRate, mapping.interestRateUnit),
      installments: row.totalInstallments,
      periodDays: row.periodDays,
      startDate: row.startDate,
      scheduleType: scheduleTypeOf(row.scheduleType, mapping) as CreateCreditInput['scheduleType'],
      externalId: row.id,
    };
    const terms = validateTerms(input);
    const schedule = buildSchedule(terms);
    return { ok: true, input: { ...input, periodDays: terms.periodDays, scheduleType: terms.scheduleType }, terms, schedule };
  } catch (err) {
    if (!isDomainError(err)) throw err;
    return { ok: false, code: 'TERMS_REFUSED', reason: { code: err.code, field: err.field ?? null, message: err.message } };
  }
}
