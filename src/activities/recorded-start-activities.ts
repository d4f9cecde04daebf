import type { DataSource } from 'typeorm';
import * as recorded from '../db/recorded-starts';
import type { StartKind } from '../db/recorded-starts';

/** The worker's activities for the check (registered next to the payment and recalculation ones). */
export function createRecordedStartActivities(deps: { ds: DataSource }) {
  return {
    async isRecordedStart(args: { kind: StartKind; workflowId: string; input: object }): Promise<boolean> {
      return recorded.isRecordedStart(deps.ds, args);
    },
    async auditUnrecordedStart(args: { kind: StartKind; workflowType: string; workflowId: string; runId: string; input: Record<string, unknown> }): Promise<void> {
      await recorded.auditUnrecordedStart(deps.ds, args);
    },
  };
}

export type RecordedStartActivities = ReturnType<typeof createRecordedStartActivities>;
