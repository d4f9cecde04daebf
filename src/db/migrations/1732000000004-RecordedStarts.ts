import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Only recorded requests move money: before the API (or abono, for the nightly schedule) starts
 * a reversal or a recalculation it records the workflow id and its input's hash here; the workflow
 * refuses to run an input that does not match (payments check their idempotency record instead).
 * kind 'schedule' rows are keyed by the schedule's workflow id prefix (Temporal appends the time).
 */
export class RecordedStarts1732000000004 implements MigrationInterface {
  name = 'RecordedStarts1732000000004';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE recorded_starts (
        workflow_id text PRIMARY KEY,
        kind        text NOT NULL CHECK (kind IN ('reversal','recalculation','schedule','scheduled-run')),
        input_hash  text NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE recorded_starts`);
  }
}
