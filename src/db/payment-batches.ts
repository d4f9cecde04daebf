import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { DataSource } from 'typeorm';
import { PaymentFileError, PaymentFileFormat, PaymentFileLine, readPaymentFile } from '../files/payment-file';
import { csvLine } from './csv-stream';
import { copyAppliedLines } from './batch-reversal';
import { inCopyTransaction } from './copy-transaction';

/**
 * The one writer of payment_batches rows and of the lines they hold. A file is recorded whole or not at all:
 * its row and every line go in one transaction (the lines by COPY, as they are read), so a file that turns out
 * malformed at its last line leaves nothing behind.
 */

export interface BatchRow {
  id: string;
  idempotency_key: string;
  file_hash: string;
  format: string;
  mode: 'APPLY' | 'DRY_RUN';
  reverses: string | null;
  reason: string | null;
  status: string;
  line_count: number;
  workflow_id: string;
  actor: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface NewBatch {
  id: string;
  key: string;
  format: PaymentFileFormat;
  mode: 'APPLY' | 'DRY_RUN';
  workflowId: string;
  actor: string | null;
  maxLines: number;
}

type Query = Pick<DataSource, 'query'>;

export async function findBatch(q: Query, id: string): Promise<BatchRow | undefined> {
  const rows: BatchRow[] = await q.query(`SELECT * FROM payment_batches WHERE id = $1`, [id]);
  return rows[0];
}

export async function findBatchByKey(q: Query, key: string): Promise<BatchRow | undefined> {
  const rows: BatchRow[] = await q.query(`SELECT * FROM payment_batches WHERE idempotency_key = $1`, [key]);
  return rows[0];
}

/** sha256 of a stream's bytes (a repeated key's file is compared by it, never stored). */
export async function hashStream(body: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of body) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** prepareBatch's two statements each walk every line of the file (up to 1,000,000). */
const PREPARE_STATEMENT_TIMEOUT_MS = 5 * 60_000;

const LINE_COLUMNS = 'batch_id, line_number, credit_id, credit_external_id, amount, payment_date, reference, line_key';

/** Lines as COPY csv rows, checked as they pass; the file's hash is taken from the same bytes. */
function copyRows(batchId: string, lines: AsyncIterable<PaymentFileLine>, maxLines: number, counted: { lines: number }) {
  return async function* () {
    let chunk = '';
    for await (const l of lines) {
      if (++counted.lines > maxLines) throw new PaymentFileError(l.lineNumber, null, `the file holds more than ${maxLines} payment lines`, 'PAYMENT_FILE_TOO_LARGE');
      chunk += csvLine([batchId, l.lineNumber, l.creditId, l.creditExternalId, l.amount, l.paymentDate, l.reference, l.lineKey]);
      if (chunk.length >= 64 * 1024) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  };
}

/**
 * Records a file: its row (RECEIVED) and its lines, read from `body` and COPYed as they come, in one transaction.
 * Throws PaymentFileError (nothing recorded) when a line is malformed. Answers the line count and the file's hash.
 */
export async function recordBatchFile(ds: DataSource, b: NewBatch, body: Readable): Promise<{ lineCount: number; fileHash: string }> {
  const hash = createHash('sha256');
  const hashing = new Transform({ transform: (c: Buffer, _e, done) => (hash.update(c), done(null, c)) });
  body.on('error', (e) => hashing.destroy(e));
  const counted = { lines: 0 };
  return inCopyTransaction(ds, async (client) => {
    await client.query(
      `INSERT INTO payment_batches (id, idempotency_key, file_hash, format, mode, status, line_count, workflow_id, actor)
       VALUES ($1,$2,'',$3,$4,'RECEIVED',0,$5,$6)`,
      [b.id, b.key, b.format, b.mode, b.workflowId, b.actor],
    );
    const lines = readPaymentFile(body.pipe(hashing), b.format, b.key);
    const copy = client.query(copyFrom(`COPY payment_batch_lines (${LINE_COLUMNS}) FROM STDIN WITH (FORMAT csv)`));
    await pipeline(Readable.from(copyRows(b.id, lines, b.maxLines, counted)()), copy);
    if (counted.lines === 0) throw new PaymentFileError(1, null, 'the file holds no payment lines', 'PAYMENT_FILE_EMPTY');
    const fileHash = hash.digest('hex');
    await client.query(`UPDATE payment_batches SET file_hash = $2, line_count = $3 WHERE id = $1`, [b.id, fileHash, counted.lines]);
    return { lineCount: counted.lines, fileHash };
  });
}

export async function markBatch(q: Query, id: string, status: 'RUNNING' | 'COMPLETED' | 'CANCELLED' | 'FAILED'): Promise<void> {
  const finished = status === 'RUNNING' ? '' : ', finished_at = coalesce(finished_at, now())';
  await q.query(`UPDATE payment_batches SET status = $2, started_at = coalesce(started_at, now())${finished} WHERE id = $1 AND finished_at IS NULL`, [id, status]);
}

/**
 * Before the first chunk: names each line's credit (a loan number becomes the credit's id) and refuses the lines
 * whose credit does not exist, as POST /v1/payments would (CREDIT_NOT_FOUND). Runs once per batch; a retry finds
 * nothing left to do. Undefined when the batch was never recorded (a start made directly on Temporal).
 */
export async function prepareBatch(ds: DataSource, id: string): Promise<{ lineCount: number; notFound: number } | undefined> {
  return ds.transaction(async (m) => {
    const [batch]: BatchRow[] = await m.query(`SELECT * FROM payment_batches WHERE id = $1 FOR UPDATE`, [id]);
    if (!batch) return undefined;
    await m.query(`SET LOCAL statement_timeout = ${PREPARE_STATEMENT_TIMEOUT_MS}`);
    await m.query(
      `UPDATE payment_batch_lines l SET credit_id = c.id FROM credits c
        WHERE l.batch_id = $1 AND l.credit_id IS NULL AND c.external_id = l.credit_external_id`,
      [id],
    );
    await m.query(
      `INSERT INTO payment_batch_outcomes (batch_id, line_number, status, reason_code, reason)
       SELECT l.batch_id, l.line_number, 'REJECTED', 'CREDIT_NOT_FOUND', 'credit ' || coalesce(l.credit_id::text, l.credit_external_id) || ' does not exist'
         FROM payment_batch_lines l
        WHERE l.batch_id = $1 AND (l.credit_id IS NULL OR NOT EXISTS (SELECT 1 FROM credits c WHERE c.id = l.credit_id))
       ON CONFLICT DO NOTHING`,
      [id],
    );
    await markBatch(m, id, 'RUNNING');
    const [n]: Array<{ n: number }> = await m.query(
      `SELECT count(*)::int AS n FROM payment_batch_outcomes WHERE batch_id = $1 AND status = 'REJECTED' AND reason_code = 'CREDIT_NOT_FOUND'`,
      [id],
    );
    return { lineCount: batch.line_count, notFound: n.n };
  });
}

/** A file's reversal as a batch of its own: its row and, as its lines, the payments the file applied. */
export async function recordReversalBatch(ds: DataSource, r: { id: string; fileId: string; reason: string; workflowId: string; actor: string | null }): Promise<void> {
  await ds.transaction(async (m) => {
    const inserted: unknown[] = await m.query(
      `INSERT INTO payment_batches (id, idempotency_key, file_hash, format, mode, reverses, reason, status, line_count, workflow_id, actor)
       VALUES ($1, 'reversal:' || $2::text, '', 'REVERSAL', 'APPLY', $2::uuid, $3, 'RECEIVED', 0, $4, $5) ON CONFLICT DO NOTHING RETURNING 1`,
      [r.id, r.fileId, r.reason, r.workflowId, r.actor],
    );
    if (inserted.length === 0) return;
    const n = await copyAppliedLines(m, r.id, r.fileId);
    await m.query(`UPDATE payment_batches SET line_count = $2 WHERE id = $1`, [r.id, n]);
  });
}
