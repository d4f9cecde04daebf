import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The INCREMENTAL batch reads only what it checks (DESIGN.md §11), each part by an index:
 * - the credits due in the rolling window, oldest first, a page at a time: a range over
 *   `(verified_at, credit_id)` (the page's keyset; it replaces the index on `verified_at` alone);
 * - the marked credits (`credit_changes`, whole): a credit is marked when it is created, so a credit never
 *   verified is always marked and no anti-join over the book is needed. The credits that exist unverified and
 *   unmarked are marked here once.
 */
export class VerificationScopeReads1732000018100 implements MigrationInterface {
  name = 'VerificationScopeReads1732000018100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX credit_verifications_due_idx ON credit_verifications (verified_at, credit_id)`);
    await q.query(`DROP INDEX credit_verifications_verified_at_idx`);
    await q.query(`
      INSERT INTO credit_changes (credit_id, change_seq)
      SELECT c.id, nextval('credit_change_seq') FROM credits c
       WHERE NOT EXISTS (SELECT 1 FROM credit_verifications v WHERE v.credit_id = c.id)
      ON CONFLICT (credit_id) DO NOTHING`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX credit_verifications_verified_at_idx ON credit_verifications (verified_at)`);
    await q.query(`DROP INDEX credit_verifications_due_idx`);
  }
}
