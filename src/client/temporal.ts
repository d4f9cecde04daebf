import { Client, Workflow, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { OperationKind, OperationStatus } from '../temporal/search-attributes';
import { UnavailableError } from '../errors';

/** Where the Temporal UI is (absent: no links) and which namespace abono's workflows live in. */
export interface TemporalUi {
  temporalUiUrl?: string;
  namespace: string;
}

/** The UI page of the namespace's workflows, or null without a UI. Every Temporal link abono gives starts here. */
export function namespaceUrl(ui: TemporalUi): string | null {
  return ui.temporalUiUrl ? `${ui.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(ui.namespace)}` : null;
}

/** The UI page of one workflow (of one run's history when runId is given). */
export function workflowUrl(ui: TemporalUi, workflowId: string, runId?: string): string | null {
  const base = namespaceUrl(ui);
  if (!base) return null;
  return `${base}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${encodeURIComponent(runId)}/history` : ''}`;
}

/** Temporal could not be reached (gRPC UNAVAILABLE, a refused connection, a missed deadline). */
export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: number; message?: string };
  return e?.code === 14 || /UNAVAILABLE|ECONNREFUSED|Connection refused|deadline/i.test(e?.message ?? '');
}

/** Rethrows an unreachable Temporal as 503 TEMPORAL_UNAVAILABLE with `detail`; anything else as it came. */
export function rethrowUnavailable(err: unknown, detail = 'the workflow service is unreachable'): never {
  if (isUnavailable(err)) throw new UnavailableError('TEMPORAL_UNAVAILABLE', detail);
  throw err;
}

/** Runs `call` on the client's connection, abandoning it after `budgetMs`: undefined then. */
export async function withinBudget<T>(client: Client, budgetMs: number, call: () => Promise<T>, unavailableDetail?: string): Promise<T | undefined> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), budgetMs);
  try {
    return await client.connection.withAbortSignal(abort.signal, call);
  } catch (err) {
    if (abort.signal.aborted) return undefined;
    return rethrowUnavailable(err, unavailableDetail);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts a staged batch's workflow (a payment file, its reversal, an import) on the batch task queue, or finds it
 * started: the same id again is the same batch, and one that failed may run again. An unreachable Temporal is a 503
 * whose `unavailableDetail` tells the caller how to resume.
 */
export async function startStagedBatch<I>(
  client: Client,
  b: { workflow: (input: I) => Promise<unknown>; input: I; workflowId: string; taskQueue: string; kind: string; unavailableDetail: string },
): Promise<void> {
  try {
    // As a plain Workflow: the input's type was checked against the workflow's above.
    await client.workflow.start(b.workflow as Workflow, {
      workflowId: b.workflowId,
      taskQueue: b.taskQueue,
      args: [b.input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      typedSearchAttributes: [
        { key: OperationKind, value: b.kind },
        { key: OperationStatus, value: 'RUNNING' },
      ],
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return;
    rethrowUnavailable(err, b.unavailableDetail);
  }
}
