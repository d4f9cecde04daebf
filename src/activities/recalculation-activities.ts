import { Context } from '@temporalio/activity';
import { auditDecision } from '../security/four-eyes-db';
import { DataSource } from 'typeorm';
import type { Logger } from '../logger';
import { recordRecalculationMetrics } from '../observability/metrics';
import { applyApprovedCorrections, ChunkCounts, planChunks, recalculateChunk, RecalculationMode } from '../services/recalculation';

export interface RecalculationDeps {
  ds: DataSource;
  log?: Logger;
  alertWebhookUrl?: string;
  /** Threads that check chunks in this process (RECALC_THREADS; 0: on the activity's own thread). */
  recalculationThreads?: number;
}

export interface RecalculationSummary extends ChunkCounts {
  runId: string;
  mode: RecalculationMode;
  status: string;
  durationMs: number;
}

/** The batch's database steps; each is idempotent so a retried or replayed step counts once. */
export function createRecalculationActivities(deps: RecalculationDeps) {
  const { ds } = deps;
  return {
    async beginRecalculation(args: { runId: string; mode: RecalculationMode; creditIds?: string[]; startedBy: string | null }): Promise<void> {
      await ds.query(
        `INSERT INTO recalculation_runs (id, status, dry_run, mode, scope, started_by) VALUES ($1,'RUNNING',$2,$3,$4,$5) ON CONFLICT (id) DO NOTHING`,
        [args.runId, args.mode === 'DRY_RUN', args.mode, JSON.stringify(args.creditIds ? { creditIds: args.creditIds } : { all: true }), args.startedBy],
      );
    },

    async planRecalculationChunks(args: { after: string; chunkSize: number; count: number; creditIds?: string[] }): Promise<string[]> {
      return planChunks(ds, args.after, args.chunkSize, args.count, args.creditIds);
    },

    /** Heartbeats while it works, so a killed worker's chunk is retried elsewhere promptly. */
    async recalculateChunk(args: { runId: string; lo: string; hi: string; mode: RecalculationMode; creditIds?: string[]; actor: string | null }): Promise<ChunkCounts> {
      const ctx = Context.current();
      const beat = setInterval(() => ctx.heartbeat({ lo: args.lo }), 2000);
      try {
        return await recalculateChunk(ds, args, (scanned) => ctx.heartbeat({ lo: args.lo, scanned }), deps.recalculationThreads ?? 0);
      } finally {
        clearInterval(beat);
      }
    },

    async updateRecalculationStatus(args: { runId: string; status: string; totals: ChunkCounts }): Promise<void> {
      await ds.query(
        `UPDATE recalculation_runs SET status = $2, scanned = $3, inconsistent = $4, corrected = $5, errors = $6 WHERE id = $1`,
        [args.runId, args.status, args.totals.scanned, args.totals.inconsistent, args.totals.corrected, args.totals.errors],
      );
    },

    async recordRecalculationDecision(args: { runId: string; approved: boolean; decidedBy: string }): Promise<void> {
      await ds.transaction(async (m) => {
        await m.query(`UPDATE recalculation_runs SET approved_by = $2, decided_at = coalesce(decided_at, now()), status = $3 WHERE id = $1`, [
          args.runId,
          args.decidedBy,
          args.approved ? 'APPLYING' : 'REJECTED',
        ]);
        // Security (four eyes): the decision's audit entry names the maker and the checker.
        await auditDecision(m, args);
      });
    },

    async applyApprovedCorrections(args: { runId: string; approvedBy: string; after: string; limit: number }) {
      return applyApprovedCorrections(ds, args);
    },

    async finishRecalculation(summary: RecalculationSummary): Promise<void> {
      await ds.query(
        `UPDATE recalculation_runs SET status = $2, scanned = $3, inconsistent = $4, corrected = $5, errors = $6,
                finished_at = coalesce(finished_at, now()), duration_ms = $7, result = $8
          WHERE id = $1`,
        [summary.runId, summary.status, summary.scanned, summary.inconsistent, summary.corrected, summary.errors, summary.durationMs, JSON.stringify(summary)],
      );
      recordRecalculationMetrics(summary);
      if (summary.inconsistent > 0 || summary.errors > 0) {
        deps.log?.error({ alert: 'recalculation_inconsistencies', ...summary }, `recalculation ${summary.runId} found ${summary.inconsistent} inconsistent credits and ${summary.errors} errors`);
      }
    },

    /** POSTs the summary to ALERT_WEBHOOK_URL; retried by Temporal, never blocking the batch's result. */
    async sendRecalculationAlert(summary: RecalculationSummary): Promise<boolean> {
      if (!deps.alertWebhookUrl) return false;
      const res = await fetch(deps.alertWebhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ event: 'recalculation.inconsistencies', ...summary }),
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) throw new Error(`alert webhook answered ${res.status}`);
      return true;
    },
  };
}

export type RecalculationActivities = ReturnType<typeof createRecalculationActivities>;
