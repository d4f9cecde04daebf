import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every payment written (one at a time, a file's chunk, an import) updates each index on `payments`, so each index
 * must serve a query:
 * - `(payment_date, status)` served none: every query by date also asks one status, and the reports'
 *   `(status, payment_date, id)` index reads those ranges. Dropped.
 * - `(status, created_at)` served the dashboard's outcomes of the last days (`created_at >= …`, counted by status),
 *   but with the status first PostgreSQL read the whole index for it. `(created_at, status)` reads only the window,
 *   as an index-only range. Replaced.
 */
export class PaymentIndexes1732000019000 implements MigrationInterface {
  name = 'PaymentIndexes1732000019000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX payments_date_idx`);
    await q.query(`CREATE INDEX payments_created_status_idx ON payments (created_at, status)`);
    await q.query(`DROP INDEX payments_status_created_idx`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX payments_status_created_idx ON payments (status, created_at)`);
    await q.query(`DROP INDEX payments_created_status_idx`);
    await q.query(`CREATE INDEX payments_date_idx ON payments (payment_date, status)`);
  }
}
