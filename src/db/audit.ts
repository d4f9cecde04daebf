import { EntityManager } from 'typeorm';
import { runAsOne, Statement } from './statement';

export interface AuditEntry {
  action: string;
  creditId?: string | null;
  paymentId?: string | null;
  actor?: string | null;
  workflowId?: string | null;
  runId?: string | null;
  /** Makes the write idempotent: a retried step that already wrote this entry writes nothing. */
  dedupeKey?: string | null;
  details?: Record<string, unknown>;
}

/** The audit insert, to run alone or as part of one statement with the change it records. */
export function auditStatement(e: AuditEntry): Statement {
  return {
    sql: `INSERT INTO audit_log (action, credit_id, payment_id, actor, workflow_id, run_id, dedupe_key, details)
          VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (dedupe_key) DO NOTHING`,
    params: [e.action, e.creditId ?? null, e.paymentId ?? null, e.actor ?? null, e.workflowId ?? null, e.runId ?? null, e.dedupeKey ?? null, JSON.stringify(e.details ?? {})],
  };
}

/**
 * Appends to the audit log inside the caller's transaction (the log refuses UPDATE and DELETE).
 * The database links the entry into its chain (its credit's, or `global`) with a hash over its
 * content and the previous entry's hash (migration AuditChain; `npm run cli -- audit verify`).
 * The caller's transaction must be READ COMMITTED (the default).
 */
export async function appendAudit(m: EntityManager, e: AuditEntry): Promise<void> {
  await runAsOne(m, [auditStatement(e)]);
}

/**
 * Many audit entries in one statement, linked into their chains in the order given (the trigger runs row by row
 * in that order), each skipped when its dedupe key was written before.
 */
export async function appendAuditMany(m: Pick<EntityManager, 'query'>, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await m.query(
    `INSERT INTO audit_log (action, credit_id, payment_id, actor, workflow_id, run_id, dedupe_key, details)
     SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[])
     ON CONFLICT (dedupe_key) DO NOTHING`,
    [
      entries.map((e) => e.action),
      entries.map((e) => e.creditId ?? null),
      entries.map((e) => e.paymentId ?? null),
      entries.map((e) => e.actor ?? null),
      entries.map((e) => e.workflowId ?? null),
      entries.map((e) => e.runId ?? null),
      entries.map((e) => e.dedupeKey ?? null),
      entries.map((e) => JSON.stringify(e.details ?? {})),
    ],
  );
}
