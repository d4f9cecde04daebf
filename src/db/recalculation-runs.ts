import type { DataSource, EntityManager } from 'typeorm';
import { FIRST_ID, RecalculationMode, RecalculationScope } from '../domain';
import type { ChunkCounts } from './recalculation-chunks';
import { appendAudit } from './audit';
import { isSameKey } from '../security/four-eyes';

/**
 * The recalculation_runs rows: a batch's mode, status, totals and decision, one writer per step of the
 * recalculation workflow (each idempotent: a retried step writes the same thing). Its findings and chunks are
 * written by recalculation-chunks.ts.
 */

export interface RecalculationSummary extends ChunkCounts {
  runId: string;
  mode: RecalculationMode;
  status: string;
  durationMs: number;
}

export async function insertRun(ds: DataSource, args: { runId: string; mode: RecalculationMode; scope?: RecalculationScope; creditIds?: string[]; startedBy: string | null }): Promise<void> {
  const scope = args.creditIds ? { creditIds: args.creditIds } : args.scope === 'INCREMENTAL' ? { incremental: true } : { all: true };
  await ds.query(
    `INSERT INTO recalculation_runs (id, status, dry_run, mode, scope, started_by) VALUES ($1,'RUNNING',$2,$3,$4,$5) ON CONFLICT (id) DO NOTHING`,
    [args.runId, args.mode === 'DRY_RUN', args.mode, JSON.stringify(scope), args.startedBy],
  );
}

export async function updateRunStatus(ds: DataSource, args: { runId: string; status: string; totals: ChunkCounts }): Promise<void> {
  await ds.query(`UPDATE recalculation_runs SET status = $2, scanned = $3, inconsistent = $4, corrected = $5, errors = $6 WHERE id = $1`, [
    args.runId,
    args.status,
    args.totals.scanned,
    args.totals.inconsistent,
    args.totals.corrected,
    args.totals.errors,
  ]);
}

/** The decision and its audit entry, which names both keys: the maker (startedBy) and the checker (decidedBy, the actor). */
export async function recordDecision(ds: DataSource, args: { runId: string; approved: boolean; decidedBy: string }): Promise<void> {
  await ds.transaction(async (m) => {
    await m.query(`UPDATE recalculation_runs SET approved_by = $2, decided_at = coalesce(decided_at, now()), status = $3 WHERE id = $1`, [
      args.runId,
      args.decidedBy,
      args.approved ? 'APPLYING' : 'REJECTED',
    ]);
    const startedBy = await batchStarter(m, args.runId);
    await appendAudit(m, {
      action: 'recalculation.decided',
      actor: args.decidedBy,
      workflowId: args.runId,
      dedupeKey: `recalculation:${args.runId}:decided`,
      details: { runId: args.runId, approved: args.approved, startedBy: startedBy ?? null, decidedBy: args.decidedBy },
    });
  });
}

/** Who started a batch (its recorded `started_by`), or undefined when unknown. */
export async function batchStarter(q: DataSource | EntityManager, runId: string): Promise<string | null | undefined> {
  const rows: Array<{ started_by: string | null }> = await q.query(`SELECT started_by FROM recalculation_runs WHERE id = $1`, [runId]);
  return rows[0]?.started_by;
}

/** Four eyes, the API's check before it passes a decision on: the deciding key must not be the starting one. */
export async function decidedBySameKey(ds: DataSource, runId: string, decidedBy: string): Promise<boolean> {
  return isSameKey(await batchStarter(ds, runId), decidedBy);
}

export async function finishRun(ds: DataSource, summary: RecalculationSummary): Promise<void> {
  await ds.query(
    `UPDATE recalculation_runs SET status = $2, scanned = $3, inconsistent = $4, corrected = $5, errors = $6,
            finished_at = coalesce(finished_at, now()), duration_ms = $7, result = $8
      WHERE id = $1`,
    [summary.runId, summary.status, summary.scanned, summary.inconsistent, summary.corrected, summary.errors, summary.durationMs, JSON.stringify(summary)],
  );
}

/** The stored run (undefined when no worker recorded it yet). */
export async function findRun(ds: DataSource, id: string) {
  const rows = await ds.query(`SELECT * FROM recalculation_runs WHERE id = $1`, [id]);
  return rows[0];
}

export interface FindingRow {
  credit_id: string;
  status: string;
  drift: unknown;
  before_state: unknown;
  after_state: unknown;
  error: string | null;
}

/** Up to `limit` findings of a run after credit `after`, in credit id order. */
export async function findingsPage(ds: DataSource, runId: string, after: string | undefined, limit: number): Promise<FindingRow[]> {
  return ds.query(
    `SELECT credit_id, status, drift, before_state, after_state, error FROM recalculation_findings
      WHERE run_id = $1 AND credit_id > $2 ORDER BY credit_id LIMIT $3`,
    [runId, after ?? FIRST_ID, limit],
  );
}
