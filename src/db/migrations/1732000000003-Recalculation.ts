import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Recalculation batches: the run (mode, totals, result), one row per finished chunk (so a
 * retried chunk is counted once), and one row per drifted credit (the proposed or applied
 * correction, with the before and after values).
 */
export class Recalculation1732000000003 implements MigrationInterface {
  name = 'Recalculation1732000000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE recalculation_runs
      ADD COLUMN mode text NOT NULL DEFAULT 'DRY_RUN' CHECK (mode IN ('DRY_RUN','CORRECT','REVIEW')),
      ADD COLUMN approved_by text,
      ADD COLUMN decided_at timestamptz,
      ADD COLUMN duration_ms bigint`);
    await q.query(`CREATE INDEX recalculation_runs_started_idx ON recalculation_runs (started_at DESC)`);
    await q.query(`
      CREATE TABLE recalculation_chunks (
        run_id       text NOT NULL REFERENCES recalculation_runs(id),
        lo           uuid NOT NULL,
        hi           uuid NOT NULL,
        scanned      integer NOT NULL,
        inconsistent integer NOT NULL,
        corrected    integer NOT NULL,
        errors       integer NOT NULL,
        finished_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, lo)
      )`);
    await q.query(`
      CREATE TABLE recalculation_findings (
        run_id       text NOT NULL REFERENCES recalculation_runs(id),
        credit_id    uuid NOT NULL REFERENCES credits(id),
        drift        jsonb NOT NULL,
        status       text NOT NULL CHECK (status IN ('FOUND','CORRECTED','ALREADY_CONSISTENT','ERROR')),
        before_state jsonb,
        after_state  jsonb,
        error        text,
        found_at     timestamptz NOT NULL DEFAULT now(),
        corrected_at timestamptz,
        PRIMARY KEY (run_id, credit_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS recalculation_findings`);
    await q.query(`DROP TABLE IF EXISTS recalculation_chunks`);
    await q.query(`DROP INDEX IF EXISTS recalculation_runs_started_idx`);
    await q.query(`ALTER TABLE recalculation_runs DROP COLUMN mode, DROP COLUMN approved_by, DROP COLUMN decided_at, DROP COLUMN duration_ms`);
  }
}
