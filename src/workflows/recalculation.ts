import {
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  log,
  patched,
} from '@temporalio/workflow';
import type { RecalculationActivities } from '../activities/recalculation-activities';
import { OperationKind, OperationStatus } from '../temporal/search-attributes';
import { isSameKey, SAME_APPROVER, sameApproverDetail } from '../security/four-eyes';
import { startIsRecorded } from './recorded-start';
import type { RecalculationInput, RecalculationProgress, ReviewDecision } from './types';

import { FIRST_ID } from '../domain/keyset';
import { OPEN_RECALCULATION_STATUSES } from '../domain/status';
import { BATCH_CHUNK_OPTIONS, BATCH_STEP_OPTIONS } from './batch-activity-options';
import { historyIsLong, perSecond, runChunkWindow } from './chunk-window';

const db = proxyActivities<RecalculationActivities>(BATCH_STEP_OPTIONS);
const chunks = proxyActivities<RecalculationActivities>(BATCH_CHUNK_OPTIONS);
const alerts = proxyActivities<RecalculationActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumAttempts: 5 },
});

export const recalculationProgress = defineQuery<RecalculationProgress>('recalculationProgress');
/** REVIEW mode: an admin approves or rejects the proposed corrections (maker-checker). */
export const recalculationApproval = defineUpdate<{ status: string }, [ReviewDecision]>('recalculationApproval');

/**
 * Walks the credits in id order, a few chunks at a time; each chunk recomputes its credits
 * from their ledgers and compares (and in CORRECT mode corrects). REVIEW mode stores the
 * findings and waits, durably, for an admin's decision. Continues as new before the history
 * grows large, carrying its totals and position.
 *
 * Longer than 70 lines on purpose: a workflow's body is its durable story (scan, review, apply, finish) and every
 * phase reads and writes the one progress record `p` that the query handler shows; split into functions it would
 * have to pass `p` and the decision around, and the order of its commands, which replay checks, would be harder to see.
 */
export async function recalculationWorkflow(input: RecalculationInput): Promise<RecalculationProgress> {
  const runId = workflowInfo().workflowId;
  // Absent in batches started before scopes: those replay exactly as they ran (FULL).
  const incremental = input.scope === 'INCREMENTAL';
  const scopeRunId = incremental ? runId : undefined;
  const p: RecalculationProgress = input.carried ?? {
    runId,
    mode: input.mode,
    ...(incremental ? { scope: input.scope } : {}),
    status: 'RUNNING',
    phase: 'SCANNING',
    scanned: 0,
    inconsistent: 0,
    corrected: 0,
    errors: 0,
    position: FIRST_ID,
    startedAtMs: Date.now(),
    creditsPerSecond: 0,
  };
  let decision: ReviewDecision | undefined;
  setHandler(recalculationProgress, () => p);
  setHandler(
    recalculationApproval,
    async (d) => {
      decision = d;
      await condition(() => p.phase !== 'AWAITING_APPROVAL');
      return { status: p.status };
    },
    {
      validator: (d: ReviewDecision) => {
        if (p.phase !== 'AWAITING_APPROVAL' || decision) throw new Error(`this recalculation is not awaiting approval (it is ${p.status})`);
        // Four eyes, also for decisions sent to Temporal directly.
        if (isSameKey(input.startedBy, d.decidedBy)) throw new Error(`${SAME_APPROVER}: ${sameApproverDetail}`);
      },
    },
  );
  upsertSearchAttributes([
    { key: OperationKind, value: 'recalculation' },
    { key: OperationStatus, value: p.status },
  ]);
  const setStatus = (status: string) => {
    p.status = status;
    upsertSearchAttributes([{ key: OperationStatus, value: status }]);
  };
  const rollOver = async () => {
    if (historyIsLong()) {
      await continueAsNew<typeof recalculationWorkflow>({ ...input, carried: p });
    }
  };

  // Security: a start nobody recorded (made on Temporal directly) changes nothing.
  if (!(await startIsRecorded('recalculation', input))) {
    p.phase = 'DONE';
    setStatus('REJECTED');
    return p;
  }
  if (!input.carried) {
    await db.beginRecalculation({ runId, mode: input.mode, creditIds: input.creditIds, startedBy: input.startedBy, ...(incremental ? { scope: input.scope } : {}) });
    // On the chunks' proxy: on a large book, never proven before, it walks every credit.
    if (incremental) await chunks.chooseRecalculationScope({ runId, startedAtMs: p.startedAtMs, fullEveryDays: input.fullEveryDays ?? 7 });
  }

  // Batches started before the window scanned round by round (all of a round's chunks, then the next round's).
  const windowed = patched('recalculation-chunk-window');
  if (windowed && p.phase === 'SCANNING') await scanInWindow(input, p, rollOver);
  while (p.phase === 'SCANNING' && !windowed) {
    const bounds = await db.planRecalculationChunks({ after: p.position, chunkSize: input.chunkSize, count: input.parallelism, creditIds: input.creditIds, ...(incremental ? { scopeRunId } : {}) });
    if (bounds.length === 0) break;
    const results = await Promise.all(
      bounds.map((hi, i) =>
        chunks.recalculateChunk({ runId, lo: i === 0 ? p.position : bounds[i - 1], hi, mode: input.mode, creditIds: input.creditIds, actor: input.startedBy, ...(incremental ? { incremental } : {}) }),
      ),
    );
    for (const r of results) {
      p.scanned += r.scanned;
      p.inconsistent += r.inconsistent;
      p.corrected += r.corrected;
      p.errors += r.errors;
    }
    p.position = bounds[bounds.length - 1];
    p.creditsPerSecond = perSecond(p.scanned, p.startedAtMs);
    await rollOver();
  }

  if (p.phase === 'SCANNING' && input.mode === 'REVIEW' && p.inconsistent > 0) {
    p.phase = 'AWAITING_APPROVAL';
    setStatus('AWAITING_APPROVAL');
    await db.updateRecalculationStatus({ runId, status: 'AWAITING_APPROVAL', totals: p });
    log.info('recalculation awaiting approval', { runId, inconsistent: p.inconsistent });
    await condition(() => decision !== undefined);
    await db.recordRecalculationDecision({ runId, approved: decision!.approve, decidedBy: decision!.decidedBy });
    p.approvedBy = decision!.decidedBy;
    p.phase = decision!.approve ? 'APPLYING' : 'DONE';
    if (!decision!.approve) setStatus('REJECTED');
    // Histories recorded before this patch answered an approval with AWAITING_APPROVAL.
    else if (patched('applying-status-on-approval')) setStatus('APPLYING');
    p.position = FIRST_ID;
  }

  while (p.phase === 'APPLYING') {
    const r = await chunks.applyApprovedCorrections({ runId, approvedBy: p.approvedBy!, after: p.position, limit: input.chunkSize });
    p.corrected += r.corrected;
    p.errors += r.errors;
    p.position = r.last;
    if (r.done) p.phase = 'DONE';
    else await rollOver();
  }

  p.phase = 'DONE';
  if (OPEN_RECALCULATION_STATUSES.has(p.status)) setStatus('COMPLETED');
  const summary = { runId, mode: input.mode, status: p.status, scanned: p.scanned, inconsistent: p.inconsistent, corrected: p.corrected, errors: p.errors, durationMs: Date.now() - p.startedAtMs };
  await db.finishRecalculation(summary);
  if (p.inconsistent > 0 || p.errors > 0) {
    try {
      p.alerted = await alerts.sendRecalculationAlert(summary);
    } catch {
      p.alerted = false; // the result is stored; a webhook that stays down does not fail the batch
    }
  }
  return p;
}

/**
 * The scan with `parallelism` chunks always in flight (runChunkWindow): a chunk that finishes makes room for the next
 * at once, so the check threads never wait for a whole round to end. Continues as new once the chunks in flight have
 * finished, from the position they reached.
 */
async function scanInWindow(input: RecalculationInput, p: RecalculationProgress, rollOver: () => Promise<void>): Promise<void> {
  const incremental = input.scope === 'INCREMENTAL';
  for (;;) {
    const { more } = await runChunkWindow(p.position, {
      parallelism: input.parallelism,
      plan: (after, count) => db.planRecalculationChunks({ after, chunkSize: input.chunkSize, count, creditIds: input.creditIds, ...(incremental ? { scopeRunId: p.runId } : {}) }),
      run: async (lo, hi) => {
        const r = await chunks.recalculateChunk({ runId: p.runId, lo, hi, mode: input.mode, creditIds: input.creditIds, actor: input.startedBy, ...(incremental ? { incremental } : {}) });
        p.scanned += r.scanned;
        p.inconsistent += r.inconsistent;
        p.corrected += r.corrected;
        p.errors += r.errors;
      },
      holding: historyIsLong,
      advanced: (position) => {
        p.position = position;
        p.creditsPerSecond = perSecond(p.scanned, p.startedAtMs);
      },
    });
    if (!more) return;
    await rollOver();
  }
}
