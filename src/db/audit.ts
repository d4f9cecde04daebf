import { EntityManager } from 'typeorm';
import { Columns, copyRows, rowsFrom, runAsOne, Statement } from './statement';

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

/**
 * The audit insert of any number of entries, to run alone or as part of one statement with the change it records.
 * The database links each entry into its chain, row by row in the order given (migration AuditChain), and skips an
 * entry whose dedupe key was written before.
 */
export function auditStatement(entries: AuditEntry[]): Statement {
  const from = rowsFrom(auditColumns(entries));
  return {
    sql: `INSERT INTO audit_log (action, credit_id, payment_id, actor, workflow_id, run_id, dedupe_key, details)
          SELECT * FROM ${from.sql} ON CONFLICT (dedupe_key) DO NOTHING`,
    params: from.params,
  };
}

function auditColumns(entries: AuditEntry[]): Columns {
  return [
    ['action', 'text', entries.map((e) => e.action)],
    ['credit_id', 'uuid', entries.map((e) => e.creditId ?? null)],
    ['payment_id', 'uuid', entries.map((e) => e.paymentId ?? null)],
    ['actor', 'text', entries.map((e) => e.actor ?? null)],
    ['workflow_id', 'text', entries.map((e) => e.workflowId ?? null)],
    ['run_id', 'text', entries.map((e) => e.runId ?? null)],
    ['dedupe_key', 'text', entries.map((e) => e.dedupeKey ?? null)],
    ['details', 'jsonb', entries.map((e) => JSON.stringify(e.details ?? {}))],
  ];
}

/**
 * The bulk path: entries that are new by construction (an import's first entry of each credit it creates), COPYed.
 * The trigger links each into its chain as for an INSERT; a dedupe key written before fails the COPY, not skipped.
 */
export async function copyAudit(m: EntityManager, entries: AuditEntry[]): Promise<void> {
  await copyRows(m, 'audit_log', auditColumns(entries));
}

/**
 * Appends to the audit log inside the caller's transaction (the log refuses UPDATE and DELETE).
 * The database links the entry into its chain (its credit's, or `global`) with a hash over its
 * content and the previous entry's hash (migration AuditChain; `npm run cli -- audit verify`).
 * The caller's transaction must be READ COMMITTED (the default).
 */
export async function appendAudit(m: Pick<EntityManager, 'query'>, e: AuditEntry): Promise<void> {
  await appendAuditMany(m, [e]);
}

/** Many audit entries in one statement, linked into their chains in the order given. */
export async function appendAuditMany(m: Pick<EntityManager, 'query'>, entries: AuditEntry[]): Promise<void> {
  if (entries.length > 0) await runAsOne(m, [auditStatement(entries)]);
}
