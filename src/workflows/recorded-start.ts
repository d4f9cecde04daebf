import { patched, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { RecordedStartActivities } from '../activities/recorded-start-activities';
import type { StartKind } from '../db/recorded-starts';

const guard = proxyLocalActivities<RecordedStartActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 ms', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

export { UNRECORDED_REQUEST, unrecordedDetail } from '../security/unrecorded-request';

/**
 * Security: the first step of every workflow that moves money. True when the input matches the
 * request the API recorded; otherwise the refusal is audited (workflow and run) and false returned.
 * Behind a patch, so histories recorded before the check replay unchanged.
 */
export async function startIsRecorded(kind: StartKind, input: object): Promise<boolean> {
  if (!patched('only-recorded-requests')) return true;
  if (await guard.isRecordedStart({ kind, workflowId: workflowInfo().workflowId, input })) return true;
  await auditUnrecordedStart(kind, input);
  return false;
}

/** The refusal's audit entry: this workflow and run, and what the input claimed. */
export async function auditUnrecordedStart(kind: StartKind, input: object): Promise<void> {
  const info = workflowInfo();
  await guard.auditUnrecordedStart({ kind, workflowType: info.workflowType, workflowId: info.workflowId, runId: info.runId, input: input as Record<string, unknown> });
}
