import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Payment files (DESIGN.md §9): one row per file (its key, hash, mode and outcome), its lines as they were read
 * (COPY), and one row per finished chunk so a retried chunk is counted, and applied, once. A reversal of a file is
 * a batch too (`reverses` names the file). No grants here: the runtime role's grants follow the pattern of the
 * migration that introduces roles (these tables take the same as payments: select, insert, update).
 */
export class PaymentBatches1732000016001 implements MigrationInterface {
  name = 'PaymentBatches1732000016001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE payment_batches (
        id              uuid PRIMARY KEY,
        idempotency_key text NOT NULL UNIQUE,
        file_hash       text NOT NULL,
        format          text NOT NULL CHECK (format IN ('CSV','NDJSON','REVERSAL')),
        mode            text NOT NULL CHECK (mode IN ('APPLY','DRY_RUN')),
        reverses        uuid REFERENCES payment_batches(id),
        reason          text,
        status          text NOT NULL CHECK (status IN ('RECEIVED','RUNNING','COMPLETED','CANCELLED','FAILED')),
        line_count      integer NOT NULL,
        workflow_id     text NOT NULL,
        actor           text,
        created_at      timestamptz NOT NULL DEFAULT now(),
        started_at      timestamptz,
        finished_at     timestamptz
      )`);
    await q.query(`CREATE INDEX payment_batches_created_idx ON payment_batches (created_at DESC)`);
    await q.query(`
      CREATE TABLE payment_batch_lines (
        batch_id           uuid NOT NULL REFERENCES payment_batches(id),
        line_number        integer NOT NULL,
        credit_id          uuid,
        credit_external_id text,
        amount             numeric(18,2) NOT NULL,
        payment_date       date,
        reference          text,
        line_key           text NOT NULL,
        status             text NOT NULL DEFAULT 'PENDING'
                           CHECK (status IN ('PENDING','APPLIED','REJECTED','DUPLICATE','WOULD_APPLY','REVERSED')),
        reason_code        text,
        reason             text,
        payment_id         uuid,
        PRIMARY KEY (batch_id, line_number)
      )`);
    // Chunks walk a file's lines by credit; the outcome listing filters by status.
    await q.query(`CREATE INDEX payment_batch_lines_credit_idx ON payment_batch_lines (batch_id, credit_id, line_number)`);
    await q.query(`CREATE INDEX payment_batch_lines_status_idx ON payment_batch_lines (batch_id, status, line_number)`);
    await q.query(`
      CREATE TABLE payment_batch_chunks (
        batch_id       uuid NOT NULL REFERENCES payment_batches(id),
        lo             uuid NOT NULL,
        applied        integer NOT NULL,
        rejected       integer NOT NULL,
        duplicate      integer NOT NULL,
        amount_applied numeric(18,2) NOT NULL,
        finished_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (batch_id, lo)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['payment_batch_chunks', 'payment_batch_lines', 'payment_batches']) await q.query(`DROP TABLE IF EXISTS ${t}`);
  }
}
