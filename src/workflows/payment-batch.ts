import { CancellationScope, continueAsNew, defineQuery, isCancellation, patched, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { PaymentBatchActivities } from '../activities/payment-batch-activities';
import { OperationKind, OperationStatus } from '../temporal/search-attributes';
import { FIRST_ID } from '../domain/keyset';
import { Decimal, formatMoney } from '../domain/money';
import type { PaymentBatchInput, PaymentBatchProgress } from './types';
import { BATCH_CHUNK_OPTIONS, BATCH_STEP_OPTIONS } from './batch-activity-options';
import { historyIsLong, runChunkWindow } from './chunk-window';

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
  setHandler(paymentBatchProgress, () => p);
  upsertSearchAttributes([
    { key: OperationKind, value: input.reverses ? 'payment-batch-reversal' : 'payment-batch' },
    { key: OperationStatus, value: p.status },
  ]);
  let cancelled = false;
  CancellationScope.current().cancelRequested.catch((err) => {
    if (isCancellation(err)) cancelled = true;
  });
  const wf = { workflowId: workflowInfo().workflowId, runId: workflowInfo().runId };
  // Nothing the batch does is cut short by a cancellation: it is only not continued.
  await CancellationScope.nonCancellable(async () => {
    if (!input.carried) {
      const prepared = await db.prepareBatch(input.batchId);
      p.linesRead = prepared.lineCount;
      p.rejected = prepared.notFound;
    }
    // Files started before the window finish in rounds.
    if (patched('payment-batch-chunk-window')) {
      for (;;) {
        const { more } = await runChunkWindow(p.position, {
          parallelism: input.parallelism,
          plan: (after, count) => db.planBatchChunks({ batchId: input.batchId, after, lines: input.chunkLines, count }),
          run: async (lo, hi) => addChunk(p, await runChunk(input, lo, hi, wf)),
          holding: () => cancelled || historyIsLong(),
          advanced: (position) => {
            p.position = position;
            p.linesPerSecond = linesPerSecond(p);
          },
        });
        if (!more || cancelled) break;
        await continueAsNew<typeof paymentBatchWorkflow>({ ...input, carried: p });
      }
    } else await applyInRounds(input, p, wf, () => cancelled);
    p.status = cancelled ? 'CANCELLED' : 'COMPLETED';
    await db.finishBatch({ batchId: input.batchId, status: p.status });
  });
  upsertSearchAttributes([{ key: OperationStatus, value: p.status }]);
  return p;
}

/** Files started before the chunk window: a round's chunks, then the next plan once its slowest has ended. */
async function applyInRounds(input: PaymentBatchInput, p: PaymentBatchProgress, wf: { workflowId: string; runId: string }, cancelled: () => boolean): Promise<void> {
  while (!cancelled()) {
    const bounds = await db.planBatchChunks({ batchId: input.batchId, after: p.position, lines: input.chunkLines, count: input.parallelism });
    if (bounds.length === 0) break;
    const results = await Promise.all(bounds.map((hi, i) => runChunk(input, i === 0 ? p.position : bounds[i - 1], hi, wf)));
    for (const r of results) addChunk(p, r);
    p.position = bounds[bounds.length - 1];
    p.linesPerSecond = linesPerSecond(p);
    if (historyIsLong()) await continueAsNew<typeof paymentBatchWorkflow>({ ...input, carried: p });
  }
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
  p.amountApplied = formatMoney(new Decimal(p.amountApplied).plus(r.amountApplied));
  p.chunks += 1;
}

function linesPerSecond(p: PaymentBatchProgress): number {
  const seconds = (Date.now() - p.startedAtMs) / 1000;
  return seconds > 0 ? Math.round((p.applied + p.rejected + p.duplicate) / seconds) : 0;
}
