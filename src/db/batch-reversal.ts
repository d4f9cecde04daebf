import type { DataSource } from 'typeorm';
import { Decimal, formatMoney, sumMoney } from '../domain';
import type { WorkflowRef } from '../workflows/types';
import { appendAuditMany, AuditEntry } from './audit';
import { ChunkTotals, pendingLines, recordChunk } from './batch-chunks';
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
     SELECT $1, l.line_number, l.credit_id, l.amount, l.payment_date, l.reference, l.line_key, o.payment_id
       FROM payment_batch_outcomes o JOIN payment_batch_lines l ON l.batch_id = o.batch_id AND l.line_number = o.line_number
      WHERE o.batch_id = $2 AND o.status = 'APPLIED' RETURNING 1`,
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
    const lines = await pendingLines<{ line_number: number; credit_id: string; payment_id: string }>(m, 'l.line_number, l.credit_id, l.payment_id', a);
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
    const outcomes = lines.map((l) =>
      done2.has(l.payment_id)
        ? { line: l.line_number, status: 'REVERSED', paymentId: l.payment_id }
        : { line: l.line_number, status: 'REJECTED', paymentId: l.payment_id, code: 'PAYMENT_ALREADY_REVERSED', reason: 'the payment was no longer applied' },
    );
    const totals = { applied: reversed.length, rejected: lines.length - reversed.length, duplicate: 0, amountApplied: formatMoney(sumMoney(reversed.map((r) => new Decimal(r.amount)))) };
    await recordChunk(m, a, outcomes, totals);
    return totals;
  });
}
