import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Verification in proportion to the day's work (DESIGN.md §11).
 * - `credit_changes`: one row per credit changed since its last verification, written by the one writer of
 *   credit state in the same statement as the state. `change_seq` (a sequence, new on every write) lets a batch
 *   clear exactly the change it read: a write that lands while the batch reads keeps the credit marked.
 * - `credit_verifications`: when each credit was last proven consistent, and by which batch.
 * - `recalculation_scope`: the credits an INCREMENTAL batch checks, chosen once when it starts.
 */
export class VerificationMarks1732000000018 implements MigrationInterface {
  name = 'VerificationMarks1732000000018';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SEQUENCE credit_change_seq`);
    await q.query(`
      CREATE TABLE credit_changes (
        credit_id  uuid PRIMARY KEY REFERENCES credits(id),
        change_seq bigint NOT NULL,
        changed_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE credit_verifications (
        credit_id   uuid PRIMARY KEY REFERENCES credits(id),
        verified_at timestamptz NOT NULL,
        run_id      text NOT NULL
      )`);
    await q.query(`CREATE INDEX credit_verifications_verified_at_idx ON credit_verifications (verified_at)`);
    await q.query(`
      CREATE TABLE recalculation_scope (
        run_id    text NOT NULL REFERENCES recalculation_runs(id),
        credit_id uuid NOT NULL,
        PRIMARY KEY (run_id, credit_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS recalculation_scope`);
    await q.query(`DROP TABLE IF EXISTS credit_verifications`);
    await q.query(`DROP TABLE IF EXISTS credit_changes`);
    await q.query(`DROP SEQUENCE IF EXISTS credit_change_seq`);
  }
}
