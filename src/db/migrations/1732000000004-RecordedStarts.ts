import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Only recorded requests move money: before the API (or abono, for the nightly schedule) starts
 * a reversal or a recalculation it records the workflow id and its input's hash here; the workflow
 * refuses to run an input that does not match (payments check their idempotency record instead).
 * One row per recorded input: two requests racing for one workflow id (concurrent reversals of a
 * payment) each record theirs, and whichever starts the workflow finds its own. kind 'schedule'
 * rows are keyed by the schedule's workflow id prefix (Temporal appends the time) and replaced
 * when the schedule's settings change.
 */
export class RecordedStarts1732000000004 implements MigrationInterface {
  name = 'RecordedStarts1732000000004';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE recorded_starts (
        workflow_id text NOT NULL,
        kind        text NOT NULL CHECK (kind IN ('reversal','recalculation','schedule','scheduled-run')),
        input_hash  text NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workflow_id, input_hash)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE recorded_starts`);
  }
}
