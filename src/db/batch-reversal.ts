import type { DataSource } from 'typeorm';
import { Decimal, formatMoney, sumMoney } from '../domain';
import type { WorkflowRef } from '../workflows/types';
import { appendAuditMany, AuditEntry } from './audit';
import type { ChunkTotals } from './batch-chunks';
import { lockCredits, rebuildFromLedger } from './ledger';
import { markBatchReversed } from './payments';

/**
 * Undoing a file: a batch of its own whose lines are the file's applied payments. Each chunk, in one transaction,
 * locks its credits in id order, marks their payments REVERSED and rebuilds each credit from the ledger that
 * remains (later payments re-allocated, as a single reversal does), with an audit entry per payment.
 */

/** The reversal's lines: the payments the file applied (by credit, in file order). */
export async function copyAppliedLines(q: Pick<DataSource, 'query'>, reversalId: string, fileId: string): Promise<number> {
  const rows: unknown[] = await q.query(
    `INSERT INTO payment_batch_lines (batch_id, line_number, credit_id, amount, payment_date, reference, line_key, payment_id)
     SELECT $1, line_number, credit_id, amount, payment_date, reference, line_key, payment_id
       FROM payment_batch_lines WHERE batch_id = $2 AND status = 'APPLIED' RETURNING 1`,
    [reversalId, fileId],
  );
  return rows.length;
}

export async function reverseBatchChunk(
  ds: DataSource,
  a: { batchId: string; reverses: string; lo: string; hi: string; reason: string; actor: string | null; wf: WorkflowRef },
): Promise<ChunkTotals> {
  return ds.transaction(async (m) => {
    const done: Array<{ applied: number; rejected: number; amount_applied: string }> = await m.query(
      `SELECT applied, rejected, amount_applied FROM payment_batch_chunks WHERE batch_id = $1 AND lo = $2`,
      [a.batchId, a.lo],
    );
    if (done[0]) return { applied: done[0].applied, rejected: done[0].rejected, duplicate: 0, amountApplied: done[0].amount_applied };
    const lines: Array<{ line_number: number; credit_id: string; payment_id: string }> = await m.query(
      `SELECT line_number, credit_id, payment_id FROM payment_batch_lines
        WHERE batch_id = $1 AND credit_id > $2 AND credit_id <= $3 AND status = 'PENDING' ORDER BY credit_id, line_number`,
      [a.batchId, a.lo, a.hi],
    );
    const credits = await lockCredits(m, [...new Set(lines.map((l) => l.credit_id))]);
    const reversed = await markBatchReversed(m, lines.map((l) => l.payment_id), a.actor, a.reason);
    const audit: AuditEntry[] = [];
    for (const credit of credits) {
      const mine = reversed.filter((r) => r.credit_id === credit.id);
      if (mine.length === 0) continue;
      const { before, after } = await rebuildFromLedger(m, credit);
      for (const r of mine) {
        audit.push({
          action: 'payment.reversed',
          creditId: credit.id,
          paymentId: r.id,
          actor: a.actor,
          ...a.wf,
          dedupeKey: `payment:${r.id}:reversed`,
          details: { reason: a.reason, batchId: a.reverses, reversalBatchId: a.batchId, balanceBefore: formatMoney(before.balance), balanceAfter: formatMoney(after.balance), statusAfter: after.status },
        });
      }
    }
    await appendAuditMany(m, audit);
    const done2 = new Set(reversed.map((r) => r.id));
    await m.query(
      `UPDATE payment_batch_lines SET status = CASE WHEN payment_id = ANY($3::uuid[]) THEN 'REVERSED' ELSE 'REJECTED' END,
              reason_code = CASE WHEN payment_id = ANY($3::uuid[]) THEN NULL ELSE 'PAYMENT_ALREADY_REVERSED' END,
              reason = CASE WHEN payment_id = ANY($3::uuid[]) THEN NULL ELSE 'the payment was no longer applied' END
        WHERE batch_id = $1 AND line_number = ANY($2::int[])`,
      [a.batchId, lines.map((l) => l.line_number), [...done2]],
    );
    const totals = { applied: reversed.length, rejected: lines.length - reversed.length, duplicate: 0, amountApplied: formatMoney(sumMoney(reversed.map((r) => new Decimal(r.amount)))) };
    await m.query(`INSERT INTO payment_batch_chunks (batch_id, lo, applied, rejected, duplicate, amount_applied) VALUES ($1,$2,$3,$4,0,$5)`, [a.batchId, a.lo, totals.applied, totals.rejected, totals.amountApplied]);
    return totals;
  });
}
