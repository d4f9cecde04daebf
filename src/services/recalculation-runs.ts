import { randomUUID } from 'node:crypto';
import { Client, ScheduleAlreadyRunning, ScheduleNotFoundError, WorkflowNotFoundError } from '@temporalio/client';
import { DataSource } from 'typeorm';
import type { Config } from '../config';
import { OperationKind, OperationStatus } from '../temporal/search-attributes';
import { recalculationApproval, recalculationProgress, recalculationWorkflow } from '../workflows';
import type { RecalculationInput, RecalculationMode, RecalculationProgress } from '../workflows/types';
import { ConflictError, NotFoundError } from './errors';
import { recordStart } from '../security/recorded-starts';

export interface RecalculationDeps {
  ds: DataSource;
  client: Client;
  taskQueue: string;
  defaults: { chunkSize: number; parallelism: number };
  temporalUiUrl?: string;
  namespace: string;
}

export interface StartRecalculation {
  mode: RecalculationMode;
  creditIds?: string[];
  chunkSize?: number;
  parallelism?: number;
}

function inputOf(deps: Pick<RecalculationDeps, 'defaults'>, req: StartRecalculation, startedBy: string | null): RecalculationInput {
  return {
    mode: req.mode,
    creditIds: req.creditIds,
    chunkSize: req.chunkSize ?? deps.defaults.chunkSize,
    parallelism: req.parallelism ?? deps.defaults.parallelism,
    startedBy,
  };
}

/** Starts a batch; its id is its workflow id. */
export async function startRecalculation(deps: RecalculationDeps, req: StartRecalculation, startedBy: string | null): Promise<string> {
  const id = `recalculation-${randomUUID()}`;
  const input = inputOf(deps, req, startedBy);
  // Security: recorded before the start; the workflow runs only a recorded request.
  await recordStart(deps.ds, id, 'recalculation', input);
  await deps.client.workflow.start(recalculationWorkflow, {
    workflowId: id,
    taskQueue: deps.taskQueue,
    args: [input],
    typedSearchAttributes: [
      { key: OperationKind, value: 'recalculation' },
      { key: OperationStatus, value: 'RUNNING' },
    ],
  });
  return id;
}

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
    [id, page.after ?? '00000000-0000-0000-0000-000000000000', page.limit + 1],
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
    temporalUrl: deps.temporalUiUrl ? `${deps.temporalUiUrl}/namespaces/${encodeURIComponent(deps.namespace)}/workflows/${encodeURIComponent(id)}` : null,
    inconsistentCredits: shown.map((f) => ({ creditId: f.credit_id, status: f.status, drift: f.drift, before: f.before_state, after: f.after_state, error: f.error })),
    nextAfter: more ? shown[shown.length - 1].credit_id : null,
  };
}

/** Maker-checker: an admin approves or rejects a REVIEW batch's proposed corrections. */
export async function decideRecalculation(deps: RecalculationDeps, id: string, approve: boolean, decidedBy: string) {
  try {
    return await deps.client.workflow.getHandle(id).executeUpdate(recalculationApproval, { args: [{ approve, decidedBy }] });
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      // Temporal says "not found" for a workflow that has finished too: ask the database.
      const known = await deps.ds.query(`SELECT 1 FROM recalculation_runs WHERE id = $1`, [id]);
      if (known.length) throw new ConflictError('RECALCULATION_NOT_AWAITING_APPROVAL', 'this recalculation is not awaiting approval');
      throw new NotFoundError('RECALCULATION_NOT_FOUND', `recalculation ${id} does not exist`);
    }
    const message = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    if (/not awaiting approval|already completed|workflow execution already completed/i.test(message)) {
      throw new ConflictError('RECALCULATION_NOT_AWAITING_APPROVAL', 'this recalculation is not awaiting approval');
    }
    throw err;
  }
}

/** What the nightly schedule starts; recorded as the schedule's request (src/security/recorded-starts.ts). */
export function scheduledInput(config: Config): RecalculationInput {
  const r = config.recalculation;
  return { mode: r.scheduleMode, chunkSize: r.chunkSize, parallelism: r.parallelism, startedBy: 'schedule' };
}

/** The workflow id prefix of the schedule's runs (Temporal appends the start time). */
export const scheduledWorkflowId = (config: Config) => `recalculation-${config.recalculation.scheduleId}`;

/**
 * The nightly batch as a Temporal Schedule, created at start if missing and kept in line
 * with the configuration; overlap SKIP, so two never run at once. Off: the schedule is deleted.
 */
export async function ensureRecalculationSchedule(client: Client, config: Config): Promise<'created' | 'updated' | 'deleted' | 'absent'> {
  const r = config.recalculation;
  const handle = client.schedule.getHandle(r.scheduleId);
  if (!r.scheduleEnabled) {
    try {
      await handle.delete();
      return 'deleted';
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return 'absent';
      throw err;
    }
  }
  const input = scheduledInput(config);
  const spec = { cronExpressions: [r.scheduleCron], timezone: r.scheduleTimeZone };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: recalculationWorkflow,
    workflowId: scheduledWorkflowId(config),
    taskQueue: config.temporal.taskQueue,
    args: [input] as [RecalculationInput],
    typedSearchAttributes: [
      { key: OperationKind, value: 'recalculation' },
      { key: OperationStatus, value: 'RUNNING' },
    ],
  };
  try {
    await client.schedule.create({ scheduleId: r.scheduleId, spec, action, policies: { overlap: 'SKIP' } });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await handle.update((prev) => ({ ...prev, spec, action, policies: { ...prev.policies, overlap: 'SKIP' } }));
    return 'updated';
  }
}
