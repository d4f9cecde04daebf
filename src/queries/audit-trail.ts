import type { DataSource } from 'typeorm';
import { findCredit } from '../db/credits';
import { NotFoundError } from '../errors';

/** Audit trails as people read them: a payment's entries, a credit's entries (paged). Read-only. */

/** What an entry shows: its chain's hash is for `audit verify`, not for reading. */
const ENTRY_COLUMNS = `id, occurred_at AS "occurredAt", action, actor, payment_id AS "paymentId", workflow_id AS "workflowId", run_id AS "runId", details`;

export interface AuditEntryView {
  id: string;
  occurredAt: Date;
  action: string;
  actor: string | null;
  paymentId: string | null;
  workflowId: string | null;
  runId: string | null;
  details: unknown;
}

/** Every entry about one payment, oldest first (audit_log_payment_idx). */
export async function paymentAuditTrail(ds: DataSource, paymentId: string): Promise<AuditEntryView[]> {
  return ds.query(`SELECT ${ENTRY_COLUMNS} FROM audit_log WHERE payment_id = $1 ORDER BY id`, [paymentId]);
}

/** A page of a credit's entries, newest first, keyset-paged by entry id (audit_log_credit_idx). */
export async function creditAuditTrail(ds: DataSource, creditId: string, q: { before?: string; limit: number }) {
  if (!(await findCredit(ds, creditId))) throw new NotFoundError('CREDIT_NOT_FOUND', `credit ${creditId} does not exist`);
  const params: unknown[] = [creditId, q.limit];
  const before = q.before ? `AND id < $${params.push(q.before)}` : '';
  const entries: AuditEntryView[] = await ds.query(`SELECT ${ENTRY_COLUMNS} FROM audit_log WHERE credit_id = $1 ${before} ORDER BY id DESC LIMIT $2`, params);
  return { creditId, entries, next: entries.length === q.limit ? String(entries[entries.length - 1].id) : null };
}
