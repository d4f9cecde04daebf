import type { DataSource, EntityManager } from 'typeorm';
import { appendAudit } from '../services/audit';
import { isSameKey } from './four-eyes';

/** Who started a batch (its recorded `started_by`), or undefined when unknown. */
export async function batchStarter(ds: DataSource | EntityManager, runId: string): Promise<string | null | undefined> {
  const rows: Array<{ started_by: string | null }> = await ds.query(`SELECT started_by FROM recalculation_runs WHERE id = $1`, [runId]);
  return rows[0]?.started_by;
}

/** The API's check before it passes a decision on: the deciding key must not be the starting one. */
export async function decidedBySameKey(ds: DataSource, runId: string, decidedBy: string): Promise<boolean> {
  return isSameKey(await batchStarter(ds, runId), decidedBy);
}

/** The decision's audit entry names both keys: the maker (startedBy) and the checker (decidedBy, the actor). */
export async function auditDecision(m: EntityManager, args: { runId: string; approved: boolean; decidedBy: string }): Promise<void> {
  const startedBy = await batchStarter(m, args.runId);
  await appendAudit(m, {
    action: 'recalculation.decided',
    actor: args.decidedBy,
    workflowId: args.runId,
    dedupeKey: `recalculation:${args.runId}:decided`,
    details: { runId: args.runId, approved: args.approved, startedBy: startedBy ?? null, decidedBy: args.decidedBy },
  });
}
