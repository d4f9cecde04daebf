import { DataSource } from 'typeorm';
import { CreditState, formatMoney, RecalculationMode, StateDrift } from '../domain';
import { recalculationChunkSeconds } from '../observability/metrics';
import { appendAudit } from './audit';
import { checkChunk } from './chunk-check';
import { checkCredit } from './credit-drift';
import { loadBook, lockCredit, rebuildFromLedger } from './ledger';
import { recordProven } from './verification-marks';
import { batchStarter } from './recalculation-runs';


export interface ChunkCounts {
  scanned: number;
  inconsistent: number;
  corrected: number;
  errors: number;
}

export { FIRST_ID } from '../domain/keyset';

const stateJson = (s: CreditState) => ({
  totalPaid: formatMoney(s.totalPaid),
  balance: formatMoney(s.balance),
  paidInstallments: s.paidInstallments,
  paymentCount: s.paymentCount,
  lastPaymentDate: s.lastPaymentDate,
  status: s.status,
});

/**
 * Upper bounds of the next `count` chunks of `chunkSize` credits after `after`, in id order.
 * Chunk i covers (bounds[i-1], bounds[i]].
 */
export async function planChunks(ds: DataSource, after: string, chunkSize: number, count: number, creditIds?: string[], scopeRunId?: string): Promise<string[]> {
  const rows: Array<{ id: string }> = creditIds
    ? await ds.query(`SELECT id FROM credits WHERE id > $1 AND id = ANY($3::uuid[]) ORDER BY id LIMIT $2`, [after, chunkSize * count, creditIds])
    : scopeRunId
      ? await ds.query(`SELECT credit_id AS id FROM recalculation_scope WHERE run_id = $3 AND credit_id > $1 ORDER BY credit_id LIMIT $2`, [after, chunkSize * count, scopeRunId])
      : await ds.query(`SELECT id FROM credits WHERE id > $1 ORDER BY id LIMIT $2`, [after, chunkSize * count]);
  const bounds: string[] = [];
  for (let i = chunkSize - 1; i < rows.length; i += chunkSize) bounds.push(rows[i].id);
  if (rows.length && bounds[bounds.length - 1] !== rows[rows.length - 1].id) bounds.push(rows[rows.length - 1].id);
  return bounds;
}

/**
 * Corrects one credit from its ledger under its row lock. The drift is checked again under
 * the lock: a credit that a payment changed correctly since the scan is left alone.
 */
export async function correctCredit(ds: DataSource, creditId: string, ctx: { runId: string; actor: string | null; approvedBy?: string | null; startedBy?: string | null }): Promise<{ corrected: boolean; drift: StateDrift[]; before?: CreditState; after?: CreditState }> {
  return ds.transaction(async (m) => {
    // Short lock wait: a payment holding this credit wins; the batch retries the chunk later.
    await m.query(`SET LOCAL lock_timeout = '2s'`);
    const credit = await lockCredit(m, creditId);
    if (!credit) return { corrected: false, drift: [] };
    // One read of the credit's book serves the check and the rebuild.
    const book = await loadBook(m, credit);
    const drift = await checkCredit(m, credit, book);
    if (drift.length === 0) return { corrected: false, drift };
    const { before, after } = await rebuildFromLedger(m, credit, book);
    await appendAudit(m, {
      action: 'credit.recalculated',
      creditId,
      actor: ctx.actor,
      dedupeKey: `recalculation:${ctx.runId}:${creditId}`,
      details: { runId: ctx.runId, ...(ctx.startedBy !== undefined ? { startedBy: ctx.startedBy } : {}), approvedBy: ctx.approvedBy ?? null, drift, before: stateJson(before), after: stateJson(after) },
    });
    await m.query(
      `UPDATE recalculation_findings SET status = 'CORRECTED', before_state = $3, after_state = $4, corrected_at = now() WHERE run_id = $1 AND credit_id = $2`,
      [ctx.runId, creditId, JSON.stringify(stateJson(before)), JSON.stringify(stateJson(after))],
    );
    return { corrected: true, drift, before, after };
  });
}

/**
 * One chunk of a batch: reads the chunk's credits and ledgers in one statement (one snapshot),
 * recomputes them with the domain module (on a check thread), records the drifted ones, and
 * (CORRECT mode) corrects each under its own short lock. Counted once: a chunk already finished
 * returns its stored counts.
 */
export async function recalculateChunk(
  ds: DataSource,
  args: { runId: string; lo: string; hi: string; mode: RecalculationMode; creditIds?: string[]; incremental?: boolean; actor: string | null },
  heartbeat: (scanned: number) => void = () => {},
  threads = 0,
): Promise<ChunkCounts> {
  const done: ChunkCounts[] = await ds.query(`SELECT scanned, inconsistent, corrected, errors FROM recalculation_chunks WHERE run_id = $1 AND lo = $2`, [args.runId, args.lo]);
  if (done[0]) return done[0];

  const t1 = performance.now();
  // Heartbeats go on meanwhile (the activity's timer): this thread is free while a check thread works.
  const range = { lo: args.lo, hi: args.hi, creditIds: args.creditIds, scopeRunId: args.incremental ? args.runId : undefined };
  const { scanned, drift: drifted, proven } = await checkChunk(ds, range, threads);
  const t2 = performance.now();
  heartbeat(scanned);
  await recordProven(ds, args.runId, proven);

  for (const { creditId, drift } of drifted) {
    await ds.query(
      `INSERT INTO recalculation_findings (run_id, credit_id, drift, status) VALUES ($1,$2,$3,'FOUND') ON CONFLICT (run_id, credit_id) DO NOTHING`,
      [args.runId, creditId, JSON.stringify(drift)],
    );
    if (args.mode !== 'CORRECT') continue;
    try {
      const r = await correctCredit(ds, creditId, { runId: args.runId, actor: args.actor });
      // Not corrected: a payment changed it correctly between the scan and the lock, so not drift after all.
      if (!r.corrected) await ds.query(`UPDATE recalculation_findings SET status = 'ALREADY_CONSISTENT' WHERE run_id = $1 AND credit_id = $2`, [args.runId, creditId]);
    } catch (err) {
      await ds.query(`UPDATE recalculation_findings SET status = 'ERROR', error = $3 WHERE run_id = $1 AND credit_id = $2`, [args.runId, creditId, String((err as Error).message).slice(0, 500)]);
    }
  }
  // The counts are the run's findings in the chunk's range, not this attempt's tally: each correction commits on
  // its own, so an attempt killed after correcting a credit leaves it consistent for the retry, which would not
  // count it again; its finding says what was found and corrected.
  const [found]: Array<Omit<ChunkCounts, 'scanned'>> = await ds.query(
    `SELECT count(*) FILTER (WHERE status <> 'ALREADY_CONSISTENT')::int AS inconsistent,
            count(*) FILTER (WHERE status = 'CORRECTED')::int AS corrected,
            count(*) FILTER (WHERE status = 'ERROR')::int AS errors
       FROM recalculation_findings WHERE run_id = $1 AND credit_id > $2 AND credit_id <= $3`,
    [args.runId, args.lo, args.hi],
  );
  const counts: ChunkCounts = { scanned, ...found };
  await ds.query(
    `INSERT INTO recalculation_chunks (run_id, lo, hi, scanned, inconsistent, corrected, errors) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (run_id, lo) DO NOTHING`,
    [args.runId, args.lo, args.hi, counts.scanned, counts.inconsistent, counts.corrected, counts.errors],
  );
  recalculationChunkSeconds.observe({ phase: 'check' }, (t2 - t1) / 1000);
  recalculationChunkSeconds.observe({ phase: 'record' }, (performance.now() - t2) / 1000);
  return counts;
}

/** Applies the approved corrections of a REVIEW batch, a page of findings at a time. */
export async function applyApprovedCorrections(ds: DataSource, args: { runId: string; approvedBy: string; after: string; limit: number }) {
  const findings: Array<{ credit_id: string }> = await ds.query(
    `SELECT credit_id FROM recalculation_findings WHERE run_id = $1 AND status = 'FOUND' AND credit_id > $2 ORDER BY credit_id LIMIT $3`,
    [args.runId, args.after, args.limit],
  );
  const out = { corrected: 0, errors: 0, last: args.after, done: findings.length < args.limit };
  // Four eyes: each correction's audit entry names the maker as well as the checker.
  const startedBy = findings.length ? ((await batchStarter(ds, args.runId)) ?? null) : null;
  for (const f of findings) {
    try {
      const r = await correctCredit(ds, f.credit_id, { runId: args.runId, actor: args.approvedBy, approvedBy: args.approvedBy, startedBy });
      if (r.corrected) out.corrected += 1;
      else await ds.query(`UPDATE recalculation_findings SET status = 'ALREADY_CONSISTENT' WHERE run_id = $1 AND credit_id = $2`, [args.runId, f.credit_id]);
    } catch (err) {
      out.errors += 1;
      await ds.query(`UPDATE recalculation_findings SET status = 'ERROR', error = $3 WHERE run_id = $1 AND credit_id = $2`, [args.runId, f.credit_id, String((err as Error).message).slice(0, 500)]);
    }
    out.last = f.credit_id;
  }
  return out;
}
