import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { appendAudit } from './audit';
import type { CreditRow } from './rows';
import { UNRECORDED_REQUEST } from '../security/unrecorded-request';

/**
 * Only recorded requests move money. The API writes what it is about to start (a payment's
 * idempotency record; a reversal's or recalculation's row in recorded_starts) before it starts
 * the workflow, and the workflow's first step compares its own input with that record. Writing
 * the record takes database access, which a caller that only reaches Temporal does not have.
 */
export type StartKind = 'payment' | 'reversal' | 'recalculation';

/** JSON with sorted keys, so the same input always hashes the same whoever serialised it. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** The hash of a workflow input; `carried` (a continued run's state) is not part of the request. */
export function startHash(input: object): string {
  const { carried: _carried, ...request } = input as Record<string, unknown>;
  return createHash('sha256').update(canonical(request)).digest('hex');
}

/** Records a start the API (or abono, for the schedule) is about to make; the schedule's replaces its previous one. */
export async function recordStart(ds: DataSource | EntityManager, workflowId: string, kind: 'reversal' | 'recalculation' | 'schedule', input: object): Promise<void> {
  const hash = startHash(input);
  if (kind === 'schedule') await ds.query(`DELETE FROM recorded_starts WHERE workflow_id = $1 AND kind = 'schedule' AND input_hash <> $2`, [workflowId, hash]);
  await ds.query(`INSERT INTO recorded_starts (workflow_id, kind, input_hash) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING`, [workflowId, kind, hash]);
}

/** The payment's idempotency record exists with this very request (validatePayment's first check). */
export async function isRecordedPayment(ds: DataSource, input: { paymentId?: string; idempotencyKey?: string }): Promise<boolean> {
  return (await recordedPaymentWithCredit(ds, input, false)).recorded;
}

/**
 * isRecordedPayment and, when recorded, the payment's credit row (no lock; undefined when there is no such credit),
 * in one round trip: the credit is the one the record names, which a recorded request names too.
 */
export async function recordedPaymentWithCredit(
  ds: DataSource,
  input: { paymentId?: string; idempotencyKey?: string },
  withCredit = true,
): Promise<{ recorded: boolean; credit?: CreditRow }> {
  const rows: Array<CreditRow & { recorded_request: object }> = await ds.query(
    withCredit
      ? `SELECT k.request AS recorded_request, c.* FROM idempotency_keys k LEFT JOIN credits c ON c.id = k.credit_id WHERE k.key = $1 AND k.payment_id::text = $2`
      : `SELECT k.request AS recorded_request FROM idempotency_keys k WHERE k.key = $1 AND k.payment_id::text = $2`,
    [String(input.idempotencyKey ?? ''), String(input.paymentId ?? '')],
  );
  if (rows.length === 0 || startHash(rows[0].recorded_request) !== startHash(input)) return { recorded: false };
  const { recorded_request: _request, ...credit } = rows[0];
  return { recorded: true, credit: withCredit && credit.id ? (credit as CreditRow) : undefined };
}

/**
 * A scheduled run's workflow id is the schedule's id plus the time; its first check matches the
 * schedule's record and pins the hash to the run's own id, so its continued runs check that.
 */
async function isRecordedOther(ds: DataSource, workflowId: string, input: object): Promise<boolean> {
  const hash = startHash(input);
  const own: unknown[] = await ds.query(`SELECT 1 FROM recorded_starts WHERE workflow_id = $1 AND input_hash = $2 AND kind <> 'schedule'`, [workflowId, hash]);
  if (own.length > 0) return true;
  if ((input as { carried?: unknown }).carried) return false;
  const scheduled: unknown[] = await ds.query(
    `SELECT 1 FROM recorded_starts WHERE kind = 'schedule' AND starts_with($1, workflow_id || '-') AND input_hash = $2`,
    [workflowId, hash],
  );
  if (scheduled.length === 0) return false;
  await ds.query(`INSERT INTO recorded_starts (workflow_id, kind, input_hash) VALUES ($1,'scheduled-run',$2) ON CONFLICT DO NOTHING`, [workflowId, hash]);
  return true;
}

export async function isRecordedStart(ds: DataSource, args: { kind: StartKind; workflowId: string; input: object }): Promise<boolean> {
  return args.kind === 'payment' ? isRecordedPayment(ds, args.input) : isRecordedOther(ds, args.workflowId, args.input);
}

/** The refusal's audit entry: which workflow and run, what it claimed to be and for whom. */
export async function auditUnrecordedStart(
  ds: DataSource,
  args: { kind: StartKind; workflowType: string; workflowId: string; runId: string; input: Record<string, unknown> },
): Promise<void> {
  const claimedActor = (args.input.actor ?? args.input.startedBy ?? null) as string | null;
  await appendAudit(ds.manager, {
    action: 'workflow.start_refused',
    workflowId: args.workflowId,
    runId: args.runId,
    dedupeKey: `start-refused:${args.workflowId}:${args.runId}`,
    details: {
      code: UNRECORDED_REQUEST,
      kind: args.kind,
      workflowType: args.workflowType,
      claimedActor,
      claimedCreditId: (args.input.creditId as string | undefined) ?? null,
      claimedPaymentId: (args.input.paymentId as string | undefined) ?? null,
      claimedAmount: (args.input.amount as string | undefined) ?? null,
      claimedMode: (args.input.mode as string | undefined) ?? null,
    },
  });
}
