/** fast-check generators for the domain properties. */
import fc from 'fast-check';
import {
  CreditTerms,
  Decimal,
  DomainError,
  Schedule,
  addDays,
  buildSchedule,
  validateTerms,
} from '../../src/domain';

/** Number of generated cases per property. */
export const RUNS = 300;

function centsToString(c: bigint): string {
  const neg = c < 0n;
  const a = neg ? -c : c;
  return `${neg ? '-' : ''}${a / 100n}.${String(a % 100n).padStart(2, '0')}`;
}
export { centsToString };

/** Principal in cents: small, medium and up to 999 999 999 999.99. */
export const principalCents = fc.oneof(
  fc.bigInt(1n, 100_000n),
  fc.bigInt(100_000n, 100_000_000n),
  fc.bigInt(1n, 99_999_999_999_999n),
  fc.constantFrom(1n, 99_999_999_999_999n, 100_000n),
);

/** Rate per period as a decimal string: 0, tiny, small (≤ 0.2), up to 10 decimals. */
export const rateString = fc.oneof(
  fc.constant('0'),
  fc.bigInt(0n, 1_000_000n).map((x) => `0.${String(x).padStart(10, '0')}`),
  fc.bigInt(0n, 2_000_000_000n).map((x) => `0.${String(x).padStart(10, '0')}`),
  fc.integer({ min: 0, max: 2000 }).map((x) => `0.${String(x).padStart(4, '0')}`),
);

export const installmentsArb = fc.oneof(
  fc.integer({ min: 1, max: 24 }),
  fc.integer({ min: 1, max: 600 }),
  fc.constantFrom(1, 600),
);

export const periodDaysArb = fc.oneof(fc.constantFrom(7, 14, 15, 30, 31), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 3660 }));

export const startDateArb = fc.integer({ min: 0, max: 20_000 }).map((d) => addDays('2000-01-01', d));

export const scheduleTypeArb = fc.constantFrom<'FLAT' | 'DECLINING'>('FLAT', 'DECLINING');

export const termsArb: fc.Arbitrary<CreditTerms> = fc
  .record({
    principal: principalCents.map(centsToString),
    interestRate: rateString,
    installments: installmentsArb,
    periodDays: periodDaysArb,
    startDate: startDateArb,
    scheduleType: scheduleTypeArb,
  })
  .map((raw) => validateTerms(raw));

/** buildSchedule, or null when it refuses with SCHEDULE_INVALID (any other error propagates). */
export function tryBuild(terms: CreditTerms): Schedule | null {
  try {
    return buildSchedule(terms);
  } catch (e) {
    if (e instanceof DomainError && e.code === 'SCHEDULE_INVALID') return null;
    throw e;
  }
}

/**
 * An abstract payment plan, mapped onto a schedule later: each cut is either a fraction of the total
 * (w / 10^6) or an instalment boundary (D_k, k from w), each payment gets a day offset.
 */
export interface PlanCut {
  w: number;
  boundary: boolean;
  day: number;
}
export const planArb = fc.array(
  fc.record({ w: fc.integer({ min: 0, max: 1_000_000 }), boundary: fc.boolean(), day: fc.integer({ min: 0, max: 4000 }) }),
  { minLength: 0, maxLength: 15 },
);

export interface PlannedPayment {
  id: string;
  amount: Decimal;
  paymentDate: string;
}

function toCents(x: Decimal): bigint {
  return BigInt(x.times(100).toFixed(0));
}

/**
 * Payments (in ledger order) whose sum is exactly the total amount when `payOff`, else the plan
 * without its final payment (when there is more than one).
 */
export function paymentsFor(s: Schedule, startDate: string, plan: PlanCut[], payOff: boolean): PlannedPayment[] {
  const total = toCents(s.totalAmount);
  const n = s.installments.length;
  const cuts = new Set<bigint>();
  for (const c of plan) {
    const cut = c.boundary ? toCents(s.installments[c.w % n].cumulativeDue) : (total * BigInt(c.w)) / 1_000_000n;
    if (cut > 0n && cut < total) cuts.add(cut);
  }
  const sorted = [...cuts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  sorted.push(total);
  const out: PlannedPayment[] = [];
  let prev = 0n;
  sorted.forEach((cut, i) => {
    const day = plan.length ? plan[i % plan.length].day : 0;
    out.push({ id: `p${i}`, amount: new Decimal(centsToString(cut - prev)), paymentDate: addDays(startDate, day) });
    prev = cut;
  });
  if (!payOff && out.length > 1) out.pop();
  return out;
}
