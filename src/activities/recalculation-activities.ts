import { Context } from '@temporalio/activity';
import { DataSource } from 'typeorm';
import type { Logger } from '../logger';
import { recordRecalculationMetrics } from '../observability/metrics';
import type { RecalculationMode, RecalculationScope } from '../domain';
import { chooseIncrementalScope, dueBefore, forgetScope } from '../db/verification-marks';
import { applyApprovedCorrections, ChunkCounts, planChunks, recalculateChunk } from '../db/recalculation-chunks';
import * as runs from '../db/recalculation-runs';
import type { RecalculationSummary } from '../db/recalculation-runs';

export type { RecalculationSummary };

export interface RecalculationDeps {
  ds: DataSource;
  log?: Logger;
  alertWebhookUrl?: string;
  /** Threads that check chunks in this process (RECALC_THREADS; 0: on the activity's own thread). */
  recalculationThreads?: number;
}

/** Well inside the chunk's 20-second heartbeat timeout. */
const HEARTBEAT_INTERVAL_MS = 2000;
const ALERT_TIMEOUT_MS = 5000;

/** The batch's database steps; each is idempotent so a retried or replayed step counts once. */
export function createRecalculationActivities(deps: RecalculationDeps) {
  const { ds } = deps;
  return {
    async beginRecalculation(args: { runId: string; mode: RecalculationMode; scope?: RecalculationScope; creditIds?: string[]; startedBy: string | null }): Promise<void> {
      await runs.insertRun(ds, args);
    },

    /** INCREMENTAL: the marked credits and the rolling slice, chosen once, a page of the book at a time (heartbeating); returns how many. */
    async chooseRecalculationScope(args: { runId: string; startedAtMs: number; fullEveryDays: number }): Promise<number> {
      const ctx = Context.current();
      return chooseIncrementalScope(ds, args.runId, dueBefore(new Date(args.startedAtMs), args.fullEveryDays), () => ctx.heartbeat());
    },

    async planRecalculationChunks(args: { after: string; chunkSize: number; count: number; creditIds?: string[]; scopeRunId?: string }): Promise<string[]> {
      return planChunks(ds, args.after, args.chunkSize, args.count, args.creditIds, args.scopeRunId);
    },

    /** Heartbeats while it works, so a killed worker's chunk is retried elsewhere promptly. */
    async recalculateChunk(args: { runId: string; lo: string; hi: string; mode: RecalculationMode; creditIds?: string[]; incremental?: boolean; actor: string | null }): Promise<ChunkCounts> {
      const ctx = Context.current();
      const beat = setInterval(() => ctx.heartbeat({ lo: args.lo }), HEARTBEAT_INTERVAL_MS);
      try {
        return await recalculateChunk(ds, args, (scanned) => ctx.heartbeat({ lo: args.lo, scanned }), deps.recalculationThreads ?? 0);
      } finally {
        clearInterval(beat);
      }
    },

    async updateRecalculationStatus(args: { runId: string; status: string; totals: ChunkCounts }): Promise<void> {
      await runs.updateRunStatus(ds, args);
    },

    async recordRecalculationDecision(args: { runId: string; approved: boolean; decidedBy: string }): Promise<void> {
      await runs.recordDecision(ds, args);
    },

    async applyApprovedCorrections(args: { runId: string; approvedBy: string; after: string; limit: number }) {
      return applyApprovedCorrections(ds, args);
    },

    async finishRecalculation(summary: RecalculationSummary): Promise<void> {
      await runs.finishRun(ds, summary);
      await forgetScope(ds, summary.runId);
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
        signal: AbortSignal.timeout(ALERT_TIMEOUT_MS),
      });
      if (!res.ok) throw new Error(`alert webhook answered ${res.status}`);
      return true;
    },
  };
}

export type RecalculationActivities = ReturnType<typeof createRecalculationActivities>;
