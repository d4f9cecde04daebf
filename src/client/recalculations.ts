import { randomUUID } from 'node:crypto';
import { Client, ScheduleAlreadyRunning, ScheduleNotFoundError, WorkflowNotFoundError } from '@temporalio/client';
import { DataSource } from 'typeorm';
import type { Config } from '../config';
import { OperationKind, OperationStatus } from '../temporal/search-attributes';
import { recalculationApproval, recalculationWorkflow } from '../workflows';
import type { RecalculationMode, RecalculationScope } from '../domain';
import type { RecalculationInput } from '../workflows/types';
import type { TemporalUi } from './temporal';
import { findRun } from '../db/recalculation-runs';
import { ConflictError, NotFoundError } from '../errors';
import { recordStart } from '../db/recorded-starts';

export interface RecalculationDeps extends TemporalUi {
  ds: DataSource;
  client: Client;
  /** The batch task queue. */
  taskQueue: string;
  defaults: { chunkSize: number; parallelism: number; fullEveryDays: number };
}

export interface StartRecalculation {
  mode: RecalculationMode;
  scope?: RecalculationScope;
  creditIds?: string[];
  chunkSize?: number;
  parallelism?: number;
}

function inputOf(deps: Pick<RecalculationDeps, 'defaults'>, req: StartRecalculation, startedBy: string | null): RecalculationInput {
  return {
    mode: req.mode,
    ...(req.scope === 'INCREMENTAL' ? { scope: req.scope, fullEveryDays: deps.defaults.fullEveryDays } : {}),
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

/** Maker-checker: an admin approves or rejects a REVIEW batch's proposed corrections. */
export async function decideRecalculation(deps: RecalculationDeps, id: string, approve: boolean, decidedBy: string) {
  try {
    return await deps.client.workflow.getHandle(id).executeUpdate(recalculationApproval, { args: [{ approve, decidedBy }] });
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      // Temporal says "not found" for a workflow that has finished too: ask the database.
      if (await findRun(deps.ds, id)) throw new ConflictError('RECALCULATION_NOT_AWAITING_APPROVAL', 'this recalculation is not awaiting approval');
      throw new NotFoundError('RECALCULATION_NOT_FOUND', `recalculation ${id} does not exist`);
    }
    const message = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    if (/not awaiting approval|already completed|workflow execution already completed/i.test(message)) {
      throw new ConflictError('RECALCULATION_NOT_AWAITING_APPROVAL', 'this recalculation is not awaiting approval');
    }
    throw err;
  }
}

/** One recurring batch: its schedule id, cron and scope. */
export interface BatchSchedule {
  id: string;
  enabled: boolean;
  cron: string;
  scope: RecalculationScope;
}

/** What a schedule starts; recorded as the schedule's request (db/recorded-starts.ts). */
export function scheduledInput(config: Config, b: BatchSchedule): RecalculationInput {
  const r = config.recalculation;
  return { mode: r.scheduleMode, scope: b.scope, fullEveryDays: r.fullEveryDays, chunkSize: r.chunkSize, parallelism: r.parallelism, startedBy: 'schedule' };
}

/** The workflow id prefix of a schedule's runs (Temporal appends the start time). */
export const scheduledWorkflowId = (b: BatchSchedule) => `recalculation-${b.id}`;

/** The nightly batch (INCREMENTAL by default) and the weekly FULL one. */
export function batchSchedules(config: Config): BatchSchedule[] {
  const r = config.recalculation;
  return [
    { id: r.scheduleId, enabled: r.scheduleEnabled, cron: r.scheduleCron, scope: r.scheduleScope },
    { id: r.fullSchedule.id, enabled: r.scheduleEnabled && r.fullSchedule.enabled, cron: r.fullSchedule.cron, scope: 'FULL' },
  ];
}

export type ScheduleOutcome = 'created' | 'updated' | 'deleted' | 'absent';

/**
 * The nightly and weekly batches as Temporal Schedules, each created at start if missing and kept in line
 * with the configuration; overlap SKIP, so two runs of one never overlap. Off: the schedule is deleted.
 */
export async function ensureRecalculationSchedules(client: Client, config: Config): Promise<Record<string, ScheduleOutcome>> {
  const out: Record<string, ScheduleOutcome> = {};
  for (const b of batchSchedules(config)) out[b.id] = await ensureSchedule(client, config, b);
  return out;
}

async function ensureSchedule(client: Client, config: Config, b: BatchSchedule): Promise<ScheduleOutcome> {
  const r = config.recalculation;
  const handle = client.schedule.getHandle(b.id);
  if (!b.enabled) {
    try {
      await handle.delete();
      return 'deleted';
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return 'absent';
      throw err;
    }
  }
  const input = scheduledInput(config, b);
  const spec = { cronExpressions: [b.cron], timezone: r.scheduleTimeZone };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: recalculationWorkflow,
    workflowId: scheduledWorkflowId(b),
    taskQueue: config.temporal.batchTaskQueue,
    args: [input] as [RecalculationInput],
    typedSearchAttributes: [
      { key: OperationKind, value: 'recalculation' },
      { key: OperationStatus, value: 'RUNNING' },
    ],
  };
  try {
    await client.schedule.create({ scheduleId: b.id, spec, action, policies: { overlap: 'SKIP' } });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await handle.update((prev) => ({ ...prev, spec, action, policies: { ...prev.policies, overlap: 'SKIP' } }));
    return 'updated';
  }
}
