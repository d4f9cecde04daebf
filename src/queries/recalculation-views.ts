import { findingsPage, findRun } from '../db/recalculation-runs';
import type { RecalculationDeps } from '../client/recalculations';
import { workflowUrl } from '../client/temporal';
import { NotFoundError } from '../errors';
import { OPEN_RECALCULATION_STATUSES } from '../domain/status';
import { recalculationProgress } from '../workflows';
import type { RecalculationProgress } from '../workflows/types';

/** A recalculation batch as the API shows it: its stored result, live progress while it runs, its findings. */

/** How long the live progress may take before the stored figures are shown instead. */
const PROGRESS_QUERY_TIMEOUT_MS = 2000;

async function liveProgress(deps: RecalculationDeps, id: string): Promise<RecalculationProgress | undefined> {
  try {
    return await deps.client.connection.withDeadline(Date.now() + PROGRESS_QUERY_TIMEOUT_MS, () => deps.client.workflow.getHandle(id).query(recalculationProgress));
  } catch {
    return undefined;
  }
}

/** The stored result (and live progress while it runs), with the drifted credits paged by id. */
export async function getRecalculation(deps: RecalculationDeps, id: string, page: { limit: number; after?: string }) {
  const run = await findRun(deps.ds, id);
  const live = !run || OPEN_RECALCULATION_STATUSES.has(run.status) ? await liveProgress(deps, id) : undefined;
  if (!run && !live) throw new NotFoundError('RECALCULATION_NOT_FOUND', `recalculation ${id} does not exist`);
  const findings = await findingsPage(deps.ds, id, page.after, page.limit + 1);
  const more = findings.length > page.limit;
  const shown = findings.slice(0, page.limit);
  return {
    id,
    mode: run?.mode ?? live?.mode,
    scope: run?.scope?.incremental || live?.scope === 'INCREMENTAL' ? 'INCREMENTAL' : 'FULL',
    status: live?.status ?? run.status,
    scanned: live?.scanned ?? run.scanned,
    inconsistent: live?.inconsistent ?? run.inconsistent,
    corrected: live?.corrected ?? run.corrected,
    errors: live?.errors ?? run.errors,
    position: live?.position ?? null,
    creditsPerSecond: live?.creditsPerSecond ?? null,
    startedBy: run?.started_by ?? null,
    approvedBy: run?.approved_by ?? null,
    startedAt: run?.started_at?.toISOString() ?? null,
    finishedAt: run?.finished_at?.toISOString() ?? null,
    durationMs: run?.duration_ms != null ? Number(run.duration_ms) : null,
    temporalUrl: workflowUrl(deps, id),
    inconsistentCredits: shown.map((f) => ({ creditId: f.credit_id, status: f.status, drift: f.drift, before: f.before_state, after: f.after_state, error: f.error })),
    nextAfter: more ? shown[shown.length - 1].credit_id : null,
  };
}

