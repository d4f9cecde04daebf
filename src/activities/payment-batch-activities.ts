import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { DataSource } from 'typeorm';
import { todayIn } from '../domain';
import { applyBatchChunk, ChunkTotals, planBatchChunks } from '../db/batch-chunks';
import { markBatch, prepareBatch } from '../db/payment-batches';
import { reverseBatchChunk } from '../db/batch-reversal';
import type { WorkflowRef } from '../workflows/types';
import { activityLog } from '../observability/activities';

export interface PaymentBatchDeps {
  ds: DataSource;
  timeZone: string;
}

/** Well inside the chunk's heartbeat timeout. */
const HEARTBEAT_INTERVAL_MS = 2000;

/** Runs `work`, heartbeating every HEARTBEAT_INTERVAL_MS with `detail` until it settles (batch chunks, import chunks). */
export async function heartbeating<T>(detail: unknown, work: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(detail), HEARTBEAT_INTERVAL_MS);
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}

/** The payment-file workflow's steps; each is idempotent, so a retried step changes nothing twice. */
export function createPaymentBatchActivities(deps: PaymentBatchDeps) {
  const { ds } = deps;
  return {
    /** Names the lines' credits and refuses unknown ones; refuses to run a batch the API never recorded. */
    async prepareBatch(batchId: string): Promise<{ lineCount: number; notFound: number }> {
      const prepared = await prepareBatch(ds, batchId);
      if (!prepared) throw ApplicationFailure.nonRetryable(`payment batch ${batchId} was never recorded`, 'UNRECORDED_REQUEST');
      return prepared;
    },

    async planBatchChunks(args: { batchId: string; after: string; lines: number; count: number }): Promise<string[]> {
      return planBatchChunks(ds, args.batchId, args.after, args.lines, args.count);
    },

    /** One chunk in one transaction, heartbeating so a killed worker's chunk is retried elsewhere promptly. */
    async applyBatchChunk(args: { batchId: string; lo: string; hi: string; mode: 'APPLY' | 'DRY_RUN'; actor: string | null; wf: WorkflowRef }): Promise<ChunkTotals> {
      return heartbeating({ lo: args.lo }, () => applyBatchChunk(ds, { ...args, today: todayIn(deps.timeZone) }));
    },

    /** One chunk of a file's reversal: its payments out of the ledger, each credit rebuilt. */
    async reverseBatchChunk(args: { batchId: string; reverses: string; lo: string; hi: string; reason: string; actor: string | null; wf: WorkflowRef }): Promise<ChunkTotals> {
      return heartbeating({ lo: args.lo }, () => reverseBatchChunk(ds, args));
    },

    async finishBatch(args: { batchId: string; status: 'COMPLETED' | 'CANCELLED' | 'FAILED' }): Promise<void> {
      await markBatch(ds, args.batchId, args.status);
      activityLog().info({ batchId: args.batchId, status: args.status }, `payment batch ${args.status.toLowerCase()}`);
    },
  };
}

export type PaymentBatchActivities = ReturnType<typeof createPaymentBatchActivities>;
