import { FIRST_ID } from '../domain';
import type { RecalculationDeps } from '../client/recalculations';
import { workflowUrl } from '../client/temporal';
import { NotFoundError } from '../errors';
import { recalculationProgress } from '../workflows';
import type { RecalculationProgress } from '../workflows/types';

/** A recalculation batch as the API shows it: its stored result, live progress while it runs, its findings. */

async function liveProgress(deps: RecalculationDeps, id: string): Promise<RecalculationProgress | undefined> {
  try {
    return await deps.client.connection.withDeadline(Date.now() + 2000, () => deps.client.workflow.getHandle(id).query(recalculationProgress));
  } catch {
    return undefined;
  }
}

/** The stored result (and live progress while it runs), with the drifted credits paged by id. */
export async function getRecalculation(deps: RecalculationDeps, id: string, page: { limit: number; after?: string }) {
  const rows = await deps.ds.query(`SELECT * FROM recalculation_runs WHERE id = $1`, [id]);
  const run = rows[0];
  const live = !run || run.status === 'RUNNING' || run.status === 'APPLYING' || run.status === 'AWAITING_APPROVAL' ? await liveProgress(deps, id) : undefined;
  if (!run && !live) throw new NotFoundError('RECALCULATION_NOT_FOUND', `recalculation ${id} does not exist`);
  const findings: Array<{ credit_id: string; status: string; drift: unknown; before_state: unknown; after_state: unknown; error: string | null }> = await deps.ds.query(
    `SELECT credit_id, status, drift, before_state, after_state, error FROM recalculation_findings
      WHERE run_id = $1 AND credit_id > $2 ORDER BY credit_id LIMIT $3`,
    [id, page.after ?? FIRST_ID, page.limit + 1],
  );
  const more = findings.length > page.limit;
  const shown = findings.slice(0, page.limit);
  return {
    id,
    mode: run?.mode ?? live?.mode,
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

