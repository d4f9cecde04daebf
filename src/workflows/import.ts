import { CancellationScope, continueAsNew, defineQuery, isCancellation, patched, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ImportActivities } from '../activities/import-activities';
import { OperationKind, OperationStatus } from '../temporal/search-attributes';
import { Decimal, formatMoney } from '../domain/money';
import type { ImportInput, ImportProgress } from './types';
import { BATCH_CHUNK_OPTIONS, BATCH_STEP_OPTIONS } from './batch-activity-options';
import { historyIsLong, runChunkWindow } from './chunk-window';

const db = proxyActivities<ImportActivities>(BATCH_STEP_OPTIONS);
const chunks = proxyActivities<ImportActivities>(BATCH_CHUNK_OPTIONS);

export const importProgress = defineQuery<ImportProgress>('importProgress');

/**
 * A legacy book coming in: its two files were staged by the API; this imports its credits in chunks of legacy ids, a
 * few chunks at a time (the next starting as soon as one ends), each chunk one transaction (credits, payments, allocations, audit, differences together).
 * Cancelling stops after the chunks in flight: what they imported stays. Continues as new before the history grows.
 */
export async function importWorkflow(input: ImportInput): Promise<ImportProgress> {
  const p: ImportProgress = input.carried ?? {
    importId: input.importId,
    mode: input.mode,
    status: 'RUNNING',
    creditsRead: 0,
    paymentsRead: 0,
    credits: 0,
    loaded: 0,
    unchanged: 0,
    refused: 0,
    withDifferences: 0,
    paymentsApplied: 0,
    paymentsNotApplied: 0,
    amountApplied: '0.00',
    chunks: 0,
    position: '',
    startedAtMs: Date.now(),
    creditsPerSecond: 0,
  };
  setHandler(importProgress, () => p);
  upsertSearchAttributes([
    { key: OperationKind, value: 'import' },
    { key: OperationStatus, value: p.status },
  ]);
  let cancelled = false;
  CancellationScope.current().cancelRequested.catch((err) => {
    if (isCancellation(err)) cancelled = true;
  });
  const wf = { workflowId: workflowInfo().workflowId, runId: workflowInfo().runId };
  // Nothing the import does is cut short by a cancellation: it is only not continued.
  await CancellationScope.nonCancellable(async () => {
    if (!input.carried) {
      const prepared = await db.prepareImport(input.importId);
      p.creditsRead = prepared.credits;
      p.paymentsRead = prepared.payments;
      p.paymentsNotApplied = prepared.orphans;
    }
    // Imports started before the window finish in rounds.
    if (patched('import-chunk-window')) {
      for (;;) {
        const { more } = await runChunkWindow(p.position, {
          parallelism: input.parallelism,
          plan: (after, count) => db.planImportChunks({ importId: input.importId, after, credits: input.chunkCredits, count }),
          run: async (lo, hi) => addChunk(p, await chunks.applyImportChunk({ importId: input.importId, lo, hi, actor: input.actor, wf })),
          holding: () => cancelled || historyIsLong(),
          advanced: (position) => {
            p.position = position;
            p.creditsPerSecond = creditsPerSecond(p);
          },
        });
        if (!more || cancelled) break;
        await continueAsNew<typeof importWorkflow>({ ...input, carried: p });
      }
    } else await importInRounds(input, p, wf, () => cancelled);
    p.status = cancelled ? 'CANCELLED' : 'COMPLETED';
    await db.finishImport({ importId: input.importId, status: p.status });
  });
  upsertSearchAttributes([{ key: OperationStatus, value: p.status }]);
  return p;
}

/** Imports started before the chunk window: a round's chunks, then the next plan once its slowest has ended. */
async function importInRounds(input: ImportInput, p: ImportProgress, wf: { workflowId: string; runId: string }, cancelled: () => boolean): Promise<void> {
  while (!cancelled()) {
    const bounds = await db.planImportChunks({ importId: input.importId, after: p.position, credits: input.chunkCredits, count: input.parallelism });
    if (bounds.length === 0) break;
    const results = await Promise.all(bounds.map((hi, i) => chunks.applyImportChunk({ importId: input.importId, lo: i === 0 ? p.position : bounds[i - 1], hi, actor: input.actor, wf })));
    for (const r of results) addChunk(p, r);
    p.position = bounds[bounds.length - 1];
    p.creditsPerSecond = creditsPerSecond(p);
    if (historyIsLong()) await continueAsNew<typeof importWorkflow>({ ...input, carried: p });
  }
}

type ChunkResult = Awaited<ReturnType<ImportActivities['applyImportChunk']>>;

/** A finished chunk's counts and amount, added to the import's progress. */
function addChunk(p: ImportProgress, r: ChunkResult): void {
  p.credits += r.credits;
  p.loaded += r.loaded;
  p.unchanged += r.unchanged;
  p.refused += r.refused;
  p.withDifferences += r.withDifferences;
  p.paymentsApplied += r.paymentsApplied;
  p.paymentsNotApplied += r.paymentsNotApplied;
  p.amountApplied = formatMoney(new Decimal(p.amountApplied).plus(r.amountApplied));
  p.chunks += 1;
}

function creditsPerSecond(p: ImportProgress): number {
  const seconds = (Date.now() - p.startedAtMs) / 1000;
  return seconds > 0 ? Math.round(p.credits / seconds) : 0;
}
