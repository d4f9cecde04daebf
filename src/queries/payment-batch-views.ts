import type { Writable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { findBatch } from '../db/payment-batches';
import { streamCsv } from '../db/csv-stream';
import { NotFoundError } from '../errors';
import { TemporalUi, workflowUrl } from '../client/temporal';

/** A payment file as the lender reads it: status, counts and amounts by outcome, durations, its lines. Read-only. */

export const LINE_STATUSES = ['PENDING', 'APPLIED', 'REJECTED', 'DUPLICATE', 'WOULD_APPLY', 'REVERSED'] as const;
export type LineStatus = (typeof LINE_STATUSES)[number];

export async function getBatch(ds: DataSource, ui: TemporalUi, id: string) {
  const b = await findBatch(ds, id);
  if (!b) throw new NotFoundError('PAYMENT_BATCH_NOT_FOUND', `payment batch ${id} does not exist`);
  const rows: Array<{ status: LineStatus; lines: number; amount: string }> = await ds.query(
    `SELECT coalesce(o.status, 'PENDING') AS status, count(*)::int AS lines, sum(l.amount)::text AS amount
       FROM payment_batch_lines l LEFT JOIN payment_batch_outcomes o ON o.batch_id = l.batch_id AND o.line_number = l.line_number
      WHERE l.batch_id = $1 GROUP BY 1`,
    [id],
  );
  const counts = Object.fromEntries(LINE_STATUSES.map((s) => [s, 0])) as Record<LineStatus, number>;
  const amounts = Object.fromEntries(LINE_STATUSES.map((s) => [s, '0.00'])) as Record<LineStatus, string>;
  for (const r of rows) {
    counts[r.status] = r.lines;
    amounts[r.status] = r.amount;
  }
  const ms = (a: Date | null, z: Date | null) => (a && z ? z.getTime() - a.getTime() : null);
  // Live progress, from the lines' outcomes as the chunks commit them (what the workflow's progress query counts).
  const done = b.line_count - counts.PENDING;
  const runningMs = ms(b.started_at, b.finished_at ?? (b.started_at ? new Date() : null));
  return {
    id: b.id,
    kind: b.reverses ? 'REVERSAL' : 'FILE',
    format: b.format,
    mode: b.mode,
    status: b.status,
    reverses: b.reverses,
    reason: b.reason,
    lineCount: b.line_count,
    counts,
    amounts,
    createdAt: b.created_at.toISOString(),
    startedAt: b.started_at?.toISOString() ?? null,
    finishedAt: b.finished_at?.toISOString() ?? null,
    durationsMs: { queued: ms(b.created_at, b.started_at), running: ms(b.started_at, b.finished_at), total: ms(b.created_at, b.finished_at) },
    progress: {
      linesRead: b.line_count,
      linesDone: done,
      applied: counts.APPLIED + counts.WOULD_APPLY,
      rejected: counts.REJECTED,
      duplicate: counts.DUPLICATE,
      amountApplied: b.mode === 'DRY_RUN' ? amounts.WOULD_APPLY : amounts.APPLIED,
      linesPerSecond: runningMs ? Math.round((done * 1000) / Math.max(runningMs, 1)) : 0,
    },
    actor: b.actor,
    workflowId: b.workflow_id,
    temporalUiUrl: workflowUrl(ui, b.workflow_id),
  };
}

// A line without an outcome is pending (a reversal's pending line names the payment it is to reverse).
const LINE_SQL = `SELECT l.line_number, l.credit_id, l.credit_external_id, l.amount, l.payment_date, l.reference, l.line_key,
                         coalesce(o.status, 'PENDING') AS status, o.reason_code, o.reason, coalesce(o.payment_id, l.payment_id) AS payment_id
                    FROM payment_batch_lines l LEFT JOIN payment_batch_outcomes o ON o.batch_id = l.batch_id AND o.line_number = l.line_number
                   WHERE l.batch_id = $1`;

/** The filter on one outcome: pending lines have none; the others are found by the outcomes' status index. */
function statusFilter(status: LineStatus | undefined, params: unknown[]): string {
  if (!status) return '';
  return status === 'PENDING' ? 'AND o.status IS NULL' : `AND o.status = $${params.push(status)}`;
}

function lineView(r: Record<string, unknown>) {
  return {
    lineNumber: r.line_number,
    creditId: r.credit_id,
    creditExternalId: r.credit_external_id,
    amount: r.amount,
    paymentDate: r.payment_date,
    reference: r.reference,
    lineKey: r.line_key,
    status: r.status,
    code: r.reason_code,
    reason: r.reason,
    paymentId: r.payment_id,
  };
}
export const LINE_CSV_COLUMNS = ['lineNumber', 'creditId', 'creditExternalId', 'amount', 'paymentDate', 'reference', 'lineKey', 'status', 'code', 'reason', 'paymentId'];

/** A page of a file's lines in file order, optionally of one outcome; `next` is the cursor of the next page. */
export async function listLines(ds: DataSource, id: string, q: { status?: LineStatus; after?: number; limit: number }) {
  if (!(await findBatch(ds, id))) throw new NotFoundError('PAYMENT_BATCH_NOT_FOUND', `payment batch ${id} does not exist`);
  const params: unknown[] = [id, q.after ?? 0, q.limit];
  const status = statusFilter(q.status, params);
  const rows: Array<Record<string, unknown>> = await ds.query(`${LINE_SQL} AND l.line_number > $2 ${status} ORDER BY l.line_number LIMIT $3`, params);
  const lines = rows.map(lineView);
  return { lines, next: lines.length === q.limit ? (lines[lines.length - 1].lineNumber as number) : null };
}

/** Every line (of one outcome) as CSV, streamed: what the lender hands back to the bank. */
export async function streamLinesCsv(ds: DataSource, id: string, status: LineStatus | undefined, out: Writable): Promise<void> {
  if (!(await findBatch(ds, id))) throw new NotFoundError('PAYMENT_BATCH_NOT_FOUND', `payment batch ${id} does not exist`);
  const params: unknown[] = [id];
  await streamCsv(ds, `${LINE_SQL} ${statusFilter(status, params)} ORDER BY l.line_number`, params, LINE_CSV_COLUMNS, lineView, out);
}

/** The most recent batches first (files and reversals), keyset-paged by (created_at, id); counts as in getBatch. */
export async function listBatches(ds: DataSource, ui: TemporalUi, q: { before?: string; limit: number }) {
  const params: unknown[] = [q.limit];
  const before = q.before ? `WHERE (created_at, id) < (SELECT created_at, id FROM payment_batches WHERE id = $${params.push(q.before)})` : '';
  const ids: Array<{ id: string }> = await ds.query(`SELECT id FROM payment_batches ${before} ORDER BY created_at DESC, id DESC LIMIT $1`, params);
  const batches = [];
  for (const { id } of ids) batches.push(await getBatch(ds, ui, id));
  return { batches, next: batches.length === q.limit ? batches[batches.length - 1].id : null };
}
