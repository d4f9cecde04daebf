import { MigrationInterface, QueryRunner } from 'typeorm';
import { arrearsBucketCase } from '../credit-figures-sql';

/**
 * Reports (issue 6): the as-of figures of DESIGN.md §3 as ONE SQL function over persisted columns, the index
 * the collections report walks, and the per-installation key that signs report cursors.
 *
 * Why the figures need no schedule rows: in both FLAT and DECLINING schedules every instalment but the last
 * equals `installment_amount` (FLAT by construction; DECLINING because principal_i = instalment − interest_i),
 * so D_k = k × installment_amount for k ≤ n − 1 and D_n = total_amount. With expected ≤ n,
 *   overdueAmount(D) = max(0, D_(expected−1) − total_paid) = max(0, (expected − 1) × installment_amount − total_paid),
 * and the next instalment is number paid_installments + 1, due on start_date + paid_installments × period_days,
 * for D_(paid+1) − total_paid. test/integration/reports.test.ts checks all of it against src/domain/as-of.ts.
 *
 * The function is LANGUAGE sql, IMMUTABLE, not STRICT and a single SELECT, so PostgreSQL inlines it into the
 * calling query (no per-row function call) and can run it in parallel workers.
 */
export class ReportFigures1732000000002 implements MigrationInterface {
  name = 'ReportFigures1732000000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION credit_figures(
        p_start_date date, p_installments integer, p_period_days integer, p_installment_amount numeric,
        p_total_amount numeric, p_total_paid numeric, p_paid_installments integer, p_as_of date)
      RETURNS TABLE (
        expected_installments integer, pending_installments integer, overdue_installments integer,
        overdue_amount numeric, next_due_date date, next_due_amount numeric, arrears_bucket text)
      LANGUAGE sql IMMUTABLE PARALLEL SAFE
      AS $$
        SELECT e.expected,
               p.pending,
               o.overdue,
               round(greatest(0, (greatest(e.expected, 1) - 1) * p_installment_amount - p_total_paid), 2),
               CASE WHEN p_paid_installments < p_installments
                    THEN p_start_date + p_paid_installments * p_period_days END,
               CASE WHEN p_paid_installments < p_installments
                    THEN round(CASE WHEN p_paid_installments + 1 < p_installments
                                    THEN (p_paid_installments + 1) * p_installment_amount
                                    ELSE p_total_amount END - p_total_paid, 2) END,
               ${arrearsBucketCase('o.overdue')}
          FROM (SELECT CASE WHEN p_as_of < p_start_date THEN 0
                            ELSE least(p_installments, (p_as_of - p_start_date + p_period_days - 1) / p_period_days + 1)
                       END AS expected) e
          CROSS JOIN LATERAL (SELECT greatest(0, e.expected - p_paid_installments) AS pending) p
          CROSS JOIN LATERAL (SELECT greatest(0, p.pending - 1) AS overdue) o
      $$`);
    // The collections report: payments of one status in a date range, in (payment_date, id) keyset order, with the
    // amounts it sums per day carried in the index.
    await q.query(`
      CREATE INDEX payments_status_date_id_idx ON payments (status, payment_date, id)
        INCLUDE (amount, principal_portion, interest_portion)`);
    // The key that signs report cursors, shared by every API process of an installation.
    await q.query(`CREATE TABLE report_secrets (name text PRIMARY KEY, value text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`
      INSERT INTO report_secrets (name, value)
      VALUES ('cursor_hmac_key', replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS report_secrets`);
    await q.query(`DROP INDEX IF EXISTS payments_status_date_id_idx`);
    await q.query(`DROP FUNCTION IF EXISTS credit_figures(date, integer, integer, numeric, numeric, numeric, integer, date)`);
  }
}
