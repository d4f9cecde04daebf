import type { DataSource } from 'typeorm';

/** How many never-verified credits the answer names (the count is always whole). */
const NEVER_VERIFIED_SHOWN = 20;

/**
 * The book's last verification: how many credits were proven consistent in the last `days` days, the oldest
 * verification (and which batch made it), the credits never verified, and those changed since they were.
 */
export async function bookVerification(ds: DataSource, days: number) {
  const [totals] = await ds.query(
    `SELECT count(*)::int AS credits,
            count(*) FILTER (WHERE v.verified_at >= now() - make_interval(days => $1))::int AS verified_recently,
            count(*) FILTER (WHERE v.credit_id IS NULL)::int AS never_verified,
            (SELECT count(*)::int FROM credit_changes) AS changed_since_verification
       FROM credits c LEFT JOIN credit_verifications v ON v.credit_id = c.id`,
    [days],
  );
  const [oldest] = await ds.query(`SELECT credit_id, verified_at, run_id FROM credit_verifications ORDER BY verified_at, credit_id LIMIT 1`);
  const never: Array<{ id: string }> = totals.never_verified
    ? await ds.query(`SELECT c.id FROM credits c WHERE NOT EXISTS (SELECT 1 FROM credit_verifications v WHERE v.credit_id = c.id) ORDER BY c.id LIMIT $1`, [NEVER_VERIFIED_SHOWN])
    : [];
  return {
    days,
    credits: totals.credits,
    verifiedInLastDays: totals.verified_recently,
    neverVerified: totals.never_verified,
    neverVerifiedCreditIds: never.map((r) => r.id),
    changedSinceVerification: totals.changed_since_verification,
    oldestVerification: oldest ? { creditId: oldest.credit_id, verifiedAt: oldest.verified_at.toISOString(), runId: oldest.run_id } : null,
  };
}
