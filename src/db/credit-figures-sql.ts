import { ARREARS_BUCKETS, ARREARS_LAST_BUCKET_FROM } from '../domain/status';

/**
 * The arrears bucket rule (domain/status.ts arrearsBucketOf) as SQL, for credit_figures, which restates the
 * domain's as-of figures over persisted columns for speed; test/integration/reports.test.ts holds the two equal.
 */
export function arrearsBucketCase(overdue: string): string {
  const last = ARREARS_BUCKETS[ARREARS_BUCKETS.length - 1];
  return `CASE WHEN ${overdue} <= 0 THEN '${ARREARS_BUCKETS[0]}' WHEN ${overdue} >= ${ARREARS_LAST_BUCKET_FROM} THEN '${last}' ELSE ${overdue}::text END`;
}

/**
 * The five arrears buckets as a table, to group by: grouping by the computed bucket itself, PostgreSQL guesses
 * 100,000 groups, sorts every credit (on disk) and JIT-compiles the plan (1.5 s over 1 M credits); joined to this
 * list it knows there are five and hashes them (0.85 s).
 */
export const BUCKET_NAMES_JOIN = `JOIN (VALUES ${ARREARS_BUCKETS.map((b) => `('${b}')`).join(', ')}) b(name) ON b.name = f.arrears_bucket`;

/** The as-of figures of credit `c` at the date in parameter $1 (see the migration for the derivation). */
export const FIGURES_JOIN = `CROSS JOIN LATERAL credit_figures(c.start_date, c.installments, c.period_days, c.installment_amount,
                                  c.total_amount, c.total_paid, c.paid_installments, $1::date) f`;
