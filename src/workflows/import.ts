import { continueAsNew, defineQuery, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ImportActivities } from '../activities/import-activities';
import { addAmounts } from '../domain/money';
import type { ImportInput, ImportProgress } from './types';
import { BATCH_CHUNK_OPTIONS, BATCH_STEP_OPTIONS } from './batch-activity-options';
import { perSecond } from './chunk-window';
import { runStagedBatch } from './staged-batch';

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
  const wf = { workflowId: workflowInfo().workflowId, runId: workflowInfo().runId };
  return runStagedBatch({
    kind: 'import',
    progress: p,
    query: importProgress,
    carried: input.carried !== undefined,
    windowPatch: 'import-chunk-window',
    parallelism: input.parallelism,
    prepare: async () => {
      const prepared = await db.prepareImport(input.importId);
      p.creditsRead = prepared.credits;
      p.paymentsRead = prepared.payments;
      p.paymentsNotApplied = prepared.orphans;
    },
    plan: (after, count) => db.planImportChunks({ importId: input.importId, after, credits: input.chunkCredits, count }),
    run: async (lo, hi) => addChunk(p, await chunks.applyImportChunk({ importId: input.importId, lo, hi, actor: input.actor, wf })),
    advanced: () => (p.creditsPerSecond = perSecond(p.credits, p.startedAtMs)),
    continueAsNew: () => continueAsNew<typeof importWorkflow>({ ...input, carried: p }),
    finish: (status) => db.finishImport({ importId: input.importId, status }),
  });
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
  p.amountApplied = addAmounts(p.amountApplied, r.amountApplied);
  p.chunks += 1;
}
