import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A payment file's line outcomes in a table of their own, written once (insert-only) by the chunk that decided
 * them: a chunk no longer rewrites its lines (each UPDATE wrote a new version of every line and of its three index
 * entries). A line without an outcome is pending. The lines keep what was read (and, for a reversal's lines, the
 * payment to reverse). No foreign key: an outcome is written only by the transaction that read its line, and a key
 * check per row (a lookup and a row lock on the line) would cost a chunk about what the UPDATE did. Indexed for each reader: by line (the primary key: the lines listing, the chunk's pending
 * lines) and by outcome in file order (a status's page, the reversal's applied lines, the progress counts).
 */
export class PaymentBatchOutcomes1732000016002 implements MigrationInterface {
  name = 'PaymentBatchOutcomes1732000016002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE payment_batch_outcomes (
        batch_id    uuid NOT NULL,
        line_number integer NOT NULL,
        status      text NOT NULL CHECK (status IN ('APPLIED','REJECTED','DUPLICATE','WOULD_APPLY','REVERSED')),
        reason_code text,
        reason      text,
        payment_id  uuid,
        PRIMARY KEY (batch_id, line_number)
      )`);
    await q.query(`CREATE INDEX payment_batch_outcomes_status_idx ON payment_batch_outcomes (batch_id, status, line_number)`);
    await q.query(`
      INSERT INTO payment_batch_outcomes (batch_id, line_number, status, reason_code, reason, payment_id)
      SELECT batch_id, line_number, status, reason_code, reason, payment_id FROM payment_batch_lines WHERE status <> 'PENDING'`);
    // A file line's payment is its outcome's; a reversal line's payment (the one to reverse) stays on the line.
    await q.query(`UPDATE payment_batch_lines l SET payment_id = NULL FROM payment_batches b WHERE b.id = l.batch_id AND b.reverses IS NULL AND l.payment_id IS NOT NULL`);
    await q.query(`ALTER TABLE payment_batch_lines DROP COLUMN status, DROP COLUMN reason_code, DROP COLUMN reason`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE payment_batch_lines ADD COLUMN status text NOT NULL DEFAULT 'PENDING'
        CHECK (status IN ('PENDING','APPLIED','REJECTED','DUPLICATE','WOULD_APPLY','REVERSED')),
        ADD COLUMN reason_code text, ADD COLUMN reason text`);
    await q.query(`
      UPDATE payment_batch_lines l SET status = o.status, reason_code = o.reason_code, reason = o.reason, payment_id = o.payment_id
        FROM payment_batch_outcomes o WHERE o.batch_id = l.batch_id AND o.line_number = l.line_number`);
    await q.query(`CREATE INDEX payment_batch_lines_status_idx ON payment_batch_lines (batch_id, status, line_number)`);
    await q.query(`DROP TABLE payment_batch_outcomes`);
  }
}
