import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The lender's own loan number on a credit: optional, unique when present (NULLs never collide), so a bank's
 * collection file can name credits the way the lender does.
 */
export class CreditExternalId1732000016000 implements MigrationInterface {
  name = 'CreditExternalId1732000016000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE credits ADD COLUMN external_id text CHECK (external_id IS NULL OR length(external_id) BETWEEN 1 AND 100)`);
    await q.query(`CREATE UNIQUE INDEX credits_external_id_idx ON credits (external_id) WHERE external_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS credits_external_id_idx`);
    await q.query(`ALTER TABLE credits DROP COLUMN IF EXISTS external_id`);
  }
}
