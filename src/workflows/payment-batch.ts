import { continueAsNew, defineQuery, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { PaymentBatchActivities } from '../activities/payment-batch-activities';
import { FIRST_ID } from '../domain/keyset';
import { addAmounts } from '../domain/money';
import type { PaymentBatchInput, PaymentBatchProgress } from './types';
import { BATCH_CHUNK_OPTIONS, BATCH_STEP_OPTIONS } from './batch-activity-options';
import { perSecond } from './chunk-window';
import { runStagedBatch } from './staged-batch';

const db = proxyActivities<PaymentBatchActivities>(BATCH_STEP_OPTIONS);
const chunks = proxyActivities<PaymentBatchActivities>(BATCH_CHUNK_OPTIONS);

export const paymentBatchProgress = defineQuery<PaymentBatchProgress>('paymentBatchProgress');

/**
 * A payment file (or a file's reversal): its lines were stored by the API; this applies them in chunks of
 * credits, a few chunks at a time (the next starting as soon as one ends), each chunk one transaction. Cancelling
 * stops after the chunks in flight: what they applied stays applied. Continues as new before the history grows large.
 */
export async function paymentBatchWorkflow(input: PaymentBatchInput): Promise<PaymentBatchProgress> {
  const p: PaymentBatchProgress = input.carried ?? {
    batchId: input.batchId,
    mode: input.mode,
    status: 'RUNNING',
    linesRead: 0,
    applied: 0,
    rejected: 0,
    duplicate: 0,
    amountApplied: '0.00',
    chunks: 0,
    position: FIRST_ID,
    startedAtMs: Date.now(),
    linesPerSecond: 0,
  };
  const wf = { workflowId: workflowInfo().workflowId, runId: workflowInfo().runId };
  return runStagedBatch({
    kind: input.reverses ? 'payment-batch-reversal' : 'payment-batch',
    progress: p,
    query: paymentBatchProgress,
    carried: input.carried !== undefined,
    windowPatch: 'payment-batch-chunk-window',
    parallelism: input.parallelism,
    prepare: async () => {
      const prepared = await db.prepareBatch(input.batchId);
      p.linesRead = prepared.lineCount;
      p.rejected = prepared.notFound;
    },
    plan: (after, count) => db.planBatchChunks({ batchId: input.batchId, after, lines: input.chunkLines, count }),
    run: async (lo, hi) => addChunk(p, await runChunk(input, lo, hi, wf)),
    advanced: () => (p.linesPerSecond = perSecond(p.applied + p.rejected + p.duplicate, p.startedAtMs)),
    continueAsNew: () => continueAsNew<typeof paymentBatchWorkflow>({ ...input, carried: p }),
    finish: (status) => db.finishBatch({ batchId: input.batchId, status }),
  });
}

type ChunkResult = { applied: number; rejected: number; duplicate: number; amountApplied: string };

/** One chunk of the file (or of its reversal). */
function runChunk(input: PaymentBatchInput, lo: string, hi: string, wf: { workflowId: string; runId: string }): Promise<ChunkResult> {
  return input.reverses
    ? chunks.reverseBatchChunk({ batchId: input.batchId, reverses: input.reverses.batchId, lo, hi, reason: input.reverses.reason, actor: input.actor, wf })
    : chunks.applyBatchChunk({ batchId: input.batchId, lo, hi, mode: input.mode, actor: input.actor, wf });
}

/** A finished chunk's counts and amount, added to the batch's progress. */
function addChunk(p: PaymentBatchProgress, r: ChunkResult): void {
  p.applied += r.applied;
  p.rejected += r.rejected;
  p.duplicate += r.duplicate;
  p.amountApplied = addAmounts(p.amountApplied, r.amountApplied);
  p.chunks += 1;
}
