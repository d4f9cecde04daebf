/**
 * The stuck-operation finder (issue 7): payment, reversal and recalculation workflows still running after a given
 * time, found through Temporal's visibility (the search attributes every abono workflow carries), each described
 * for where it is.
 *
 * The payment and reversal workflows run their steps as LOCAL activities, which never appear in
 * `pendingActivities`: their current step is the payment workflow's `paymentStage` query (answered by a worker;
 * when none answers, the pending workflow task tells that no worker has picked the workflow up). Remote activities
 * (the recalculation's chunks) appear with their attempt count and last failure.
 */
import type { Client, WorkflowExecutionDescription, WorkflowExecutionInfo } from '@temporalio/client';
import { CreditId, OperationKind, OperationStatus, PaymentId } from '../temporal/search-attributes';
import { paymentStage, recalculationProgress } from '../workflows';
import { namespaceUrl, rethrowUnavailable, TemporalUi, workflowUrl } from '../client/temporal';

export const OPERATION_KINDS = ['payment', 'reversal', 'recalculation'] as const;
export type OperationKindName = (typeof OPERATION_KINDS)[number];

export const MAX_STUCK_LIMIT = 1000;
export const DEFAULT_STUCK_LIMIT = 100;
/** Per operation: describing it, then asking the workflow where it is (a busy worker may not answer). */
const DESCRIBE_TIMEOUT_MS = 3000;
const QUERY_TIMEOUT_MS = 1500;

export interface OperationsDeps extends TemporalUi {
  client: Client;
}

export interface StuckQuery {
  olderThanMs: number;
  kinds?: OperationKindName[];
  creditId?: string;
  limit?: number;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `60s`, `500ms`, `5m`, `2h` → milliseconds; undefined when it is not one of those. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,9})(ms|s|m|h)$/.exec(text);
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2]];
  return ms <= 30 * 24 * 3_600_000 ? ms : undefined;
}

/** The visibility query (the same text works in the Temporal UI's query box and `temporal workflow list -q`). */
export function stuckVisibilityQuery(q: StuckQuery, now = new Date()): string {
  const kinds = (q.kinds?.length ? q.kinds : OPERATION_KINDS).map((k) => `"${k}"`).join(', ');
  const before = new Date(now.getTime() - q.olderThanMs).toISOString();
  const parts = [`ExecutionStatus = "Running"`, `OperationKind IN (${kinds})`, `StartTime < "${before}"`];
  if (q.creditId) parts.push(`CreditId = "${q.creditId}"`);
  return parts.join(' AND ');
}

type Timestamp = { seconds?: unknown; nanos?: number | null } | null | undefined;
const tsToIso = (ts: Timestamp): string | null => {
  if (!ts || ts.seconds == null) return null;
  return new Date(Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
};

const ACTIVITY_STATES: Record<number, string> = { 1: 'SCHEDULED', 2: 'STARTED', 3: 'CANCEL_REQUESTED', 4: 'PAUSED', 5: 'PAUSE_REQUESTED' };
const WFT_STATES: Record<number, string> = { 1: 'SCHEDULED', 2: 'STARTED' };

/** Runs `fn` over `items`, at most `width` at a time. */
async function pool<T, R>(items: T[], width: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

/** Where one running operation is. Never throws: what cannot be learnt is null, with the reason in `note`. */
async function describeOne(deps: OperationsDeps, info: WorkflowExecutionInfo, now: Date) {
  const kind = (info.typedSearchAttributes.get(OperationKind) as string | undefined) ?? null;
  const handle = deps.client.workflow.getHandle(info.workflowId, info.runId);
  let description: WorkflowExecutionDescription | undefined;
  let note: string | null = null;
  try {
    description = await deps.client.connection.withDeadline(Date.now() + DESCRIBE_TIMEOUT_MS, () => handle.describe());
  } catch (err) {
    note = `describe failed: ${(err as Error).message}`;
  }
  const pending = (description?.raw.pendingActivities ?? []).map((a) => ({
    activity: a.activityType?.name ?? null,
    state: ACTIVITY_STATES[Number(a.state)] ?? String(a.state ?? ''),
    attempt: a.attempt ?? null,
    maximumAttempts: a.maximumAttempts || null,
    lastFailure: a.lastFailure?.message ?? null,
    scheduledAt: tsToIso(a.scheduledTime as Timestamp),
    lastStartedAt: tsToIso(a.lastStartedTime as Timestamp),
    lastHeartbeatAt: tsToIso(a.lastHeartbeatTime as Timestamp),
    lastWorker: a.lastWorkerIdentity || null,
  }));
  const wft = description?.raw.pendingWorkflowTask;
  const pendingWorkflowTask = wft
    ? { state: WFT_STATES[Number(wft.state)] ?? String(wft.state ?? ''), attempt: wft.attempt ?? null, scheduledAt: tsToIso(wft.scheduledTime as Timestamp) }
    : null;

  // The workflow's own account of where it is (a worker answers; none answering is itself a finding).
  let stage: string | null = null;
  let progress: unknown = null;
  if (kind === 'payment' || kind === 'recalculation') {
    try {
      if (kind === 'payment') stage = await deps.client.connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(paymentStage));
      else {
        const p = await deps.client.connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(recalculationProgress));
        progress = p;
        stage = `${p.phase.toLowerCase()} (${p.scanned} scanned)`;
      }
    } catch (err) {
      note ??= `no worker answered the ${kind === 'payment' ? 'paymentStage' : 'recalculationProgress'} query (${(err as Error).message.split('\n')[0]})`;
    }
  }

  const busiest = pending.slice().sort((a, b) => (b.attempt ?? 0) - (a.attempt ?? 0))[0];
  let currentStep: string | null = stage;
  if (!currentStep && busiest) currentStep = busiest.activity;
  if (!currentStep && pendingWorkflowTask) currentStep = pendingWorkflowTask.attempt && pendingWorkflowTask.attempt > 1 ? 'workflow task retrying' : 'waiting for a worker';
  const startedAt = info.startTime.toISOString();
  return {
    kind,
    workflowId: info.workflowId,
    runId: info.runId,
    workflowType: info.type,
    taskQueue: info.taskQueue,
    creditId: (info.typedSearchAttributes.get(CreditId) as string | undefined) ?? null,
    paymentId: (info.typedSearchAttributes.get(PaymentId) as string | undefined) ?? null,
    operationStatus: (info.typedSearchAttributes.get(OperationStatus) as string | undefined) ?? null,
    startedAt,
    runningForMs: now.getTime() - info.startTime.getTime(),
    currentStep,
    attempt: busiest?.attempt ?? pendingWorkflowTask?.attempt ?? null,
    lastFailure: busiest?.lastFailure ?? null,
    pendingActivities: pending,
    pendingWorkflowTask,
    progress,
    note,
    temporalUrl: workflowUrl(deps, info.workflowId, info.runId),
  };
}

/** GET /v1/operations/stuck: the running operations older than `olderThanMs`, newest first, at most `limit`. */
export async function findStuckOperations(deps: OperationsDeps, q: StuckQuery) {
  const now = new Date();
  const limit = Math.min(q.limit ?? DEFAULT_STUCK_LIMIT, MAX_STUCK_LIMIT);
  const query = stuckVisibilityQuery(q, now);
  const found: WorkflowExecutionInfo[] = [];
  let total: number;
  try {
    const counted = deps.client.workflow.count(query).then((c) => c.count);
    for await (const wf of deps.client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
      found.push(wf);
      if (found.length >= limit) break;
    }
    total = await counted;
  } catch (err) {
    rethrowUnavailable(err);
  }
  const operations = await pool(found, 10, (wf) => describeOne(deps, wf, now));
  const base = namespaceUrl(deps);
  return {
    asOf: now.toISOString(),
    olderThanMs: q.olderThanMs,
    query,
    temporalListUrl: base ? `${base}/workflows?query=${encodeURIComponent(query)}` : null,
    total,
    shown: operations.length,
    operations,
  };
}
