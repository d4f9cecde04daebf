import { EntityManager } from 'typeorm';
import {
  CreditState,
  LedgerPayment,
  PaymentAllocation,
  Schedule,
  Decimal,
  applyPayment,
  diffState,
  formatMoney,
  recompute,
  StateDrift,
} from '../domain';
import { CreditRow, InstallmentRow, UPDATE_CREDIT_STATE, scheduleOf, stateOf, stateParams } from '../db/rows';
import { runAsOne, Statement } from '../db/statement';
import { AuditEntry, auditStatement } from './audit';

/**
 * The only code that writes a credit's balance and its payments' allocations. Every path
 * (payment, reversal, compensation, recalculation) comes through here and computes with
 * the domain module; callers hold a transaction and the credit's row lock.
 */

// Schedules never change after creation, so a process may keep them.
const scheduleCache = new Map<string, Schedule>();
const SCHEDULE_CACHE_LIMIT = 10_000;

export async function lockCredit(m: EntityManager, creditId: string): Promise<CreditRow | undefined> {
  const rows: CreditRow[] = await m.query(`SELECT * FROM credits WHERE id = $1 FOR UPDATE`, [creditId]);
  return rows[0];
}

/**
 * Locks the credit and reads one of its payments' status in the same round trip. The credit's
 * lock serialises every ledger change of its payments, so the payment row needs none of its own.
 */
export async function lockCreditWithPayment(m: EntityManager, creditId: string, paymentId: string): Promise<{ credit?: CreditRow; paymentStatus?: string }> {
  const rows: Array<CreditRow & { payment_status: string | null }> = await m.query(
    `SELECT c.*, (SELECT status FROM payments p WHERE p.id = $2 AND p.credit_id = c.id) AS payment_status
       FROM credits c WHERE c.id = $1 FOR UPDATE`,
    [creditId, paymentId],
  );
  if (!rows[0]) return {};
  const { payment_status, ...credit } = rows[0];
  return { credit: credit as CreditRow, paymentStatus: payment_status ?? undefined };
}

export async function loadSchedule(m: EntityManager, credit: CreditRow): Promise<Schedule> {
  const cached = scheduleCache.get(credit.id);
  if (cached) return cached;
  const rows: InstallmentRow[] = await m.query(`SELECT * FROM credit_installments WHERE credit_id = $1 ORDER BY number`, [credit.id]);
  const schedule = scheduleOf(credit, rows);
  if (scheduleCache.size >= SCHEDULE_CACHE_LIMIT) scheduleCache.delete(scheduleCache.keys().next().value!);
  scheduleCache.set(credit.id, schedule);
  return schedule;
}

/** The allocation rows of one payment, and its portions and place in the ledger (APPLIED). */
function allocationStatements(creditId: string, paymentId: string, seq: number, a: PaymentAllocation): Statement[] {
  return [
    {
      sql: `INSERT INTO payment_allocations (payment_id, credit_id, installment_number, amount, principal, interest, remaining_for_installment)
            SELECT $1, $2, * FROM unnest($3::int[], $4::numeric[], $5::numeric[], $6::numeric[], $7::numeric[])`,
      params: [
        paymentId,
        creditId,
        a.lines.map((l) => l.installmentNumber),
        a.lines.map((l) => formatMoney(l.amount)),
        a.lines.map((l) => formatMoney(l.principal)),
        a.lines.map((l) => formatMoney(l.interest)),
        a.lines.map((l) => formatMoney(l.remainingForInstallment)),
      ],
    },
    {
      sql: `UPDATE payments SET ledger_seq = $2, principal_portion = $3, interest_portion = $4, installment_number = $5,
                   remaining_for_installment = $6, balance_after = $7, status = 'APPLIED', applied_at = coalesce(applied_at, now())
             WHERE id = $1`,
      params: [paymentId, seq, formatMoney(a.principal), formatMoney(a.interest), a.installmentNumber, formatMoney(a.remainingForInstallment), formatMoney(a.balanceAfter)],
    },
  ];
}

function stateStatement(creditId: string, s: CreditState, lastSeq: number): Statement {
  return { sql: UPDATE_CREDIT_STATE, params: [creditId, ...stateParams(s), lastSeq] };
}

/**
 * Appends one payment to the credit's ledger: next sequence number, allocation rows, the
 * payment's portions (and APPLIED), the credit's new state and, when given, the audit entry
 * describing it: all in one statement. Throws the domain's refusal (AMOUNT_EXCEEDS_BALANCE,
 * CREDIT_NOT_ACTIVE) with nothing written.
 */
export async function appendToLedger(
  m: EntityManager,
  credit: CreditRow,
  payment: { id: string; amount: Decimal; paymentDate: string },
  audit?: (r: { state: CreditState; allocation: PaymentAllocation; seq: number }) => AuditEntry,
): Promise<{ state: CreditState; allocation: PaymentAllocation; seq: number }> {
  const schedule = await loadSchedule(m, credit);
  const { state, allocation } = applyPayment(schedule, stateOf(credit), payment);
  const seq = credit.last_ledger_seq + 1;
  const result = { state, allocation, seq };
  await runAsOne(m, [...allocationStatements(credit.id, payment.id, seq, allocation), stateStatement(credit.id, state, seq), ...(audit ? [auditStatement(audit(result))] : [])]);
  return result;
}

/** The credit's applied payments in ledger order. */
export async function loadLedger(m: EntityManager, creditId: string): Promise<LedgerPayment[]> {
  const rows: Array<{ id: string; amount: string; payment_date: string }> = await m.query(
    `SELECT id, amount, payment_date FROM payments WHERE credit_id = $1 AND status = 'APPLIED' ORDER BY ledger_seq`,
    [creditId],
  );
  return rows.map((r) => ({ id: r.id, amount: new Decimal(r.amount), paymentDate: r.payment_date }));
}

/**
 * Rewrites the credit's state and every applied payment's allocation from its ledger.
 * Used after a payment leaves the ledger (reversal, compensation) and to correct drift.
 */
export async function rebuildFromLedger(m: EntityManager, credit: CreditRow): Promise<{ before: CreditState; after: CreditState }> {
  const schedule = await loadSchedule(m, credit);
  const ledger = await loadLedger(m, credit.id);
  const { state, allocations } = recompute(schedule, ledger);
  await m.query(
    `DELETE FROM payment_allocations WHERE credit_id = $1`,
    [credit.id],
  );
  let seq = 0;
  for (const { paymentId, allocation } of allocations) {
    seq += 1;
    // Renumbering keeps ledger order contiguous; shift first to dodge the unique index.
    await m.query(`UPDATE payments SET ledger_seq = NULL WHERE id = $1`, [paymentId]);
    await runAsOne(m, allocationStatements(credit.id, paymentId, -seq, allocation));
  }
  if (seq > 0) {
    await m.query(`UPDATE payments SET ledger_seq = -ledger_seq WHERE credit_id = $1 AND ledger_seq < 0`, [credit.id]);
  }
  await runAsOne(m, [stateStatement(credit.id, state, seq)]);
  return { before: stateOf(credit), after: state };
}

interface StoredAllocation {
  payment_id: string;
  installment_number: number;
  amount: string;
  principal: string;
  interest: string;
  remaining_for_installment: string;
}

/** Persisted state and allocations against the recomputation from the ledger (pure). */
function driftOf(credit: CreditRow, schedule: Schedule, ledger: LedgerPayment[], stored: StoredAllocation[]): StateDrift[] {
  let recomputed;
  try {
    recomputed = recompute(schedule, ledger);
  } catch (err) {
    // A ledger the domain refuses (e.g. more paid than owed) is drift too.
    return [{ field: 'ledger', persisted: `${ledger.length} payments`, recomputed: (err as Error).message }];
  }
  const drift = diffState(stateOf(credit), recomputed.state);
  const key = (p: string, n: number) => `${p}#${n}`;
  const expected = new Map<string, string>();
  for (const { paymentId, allocation } of recomputed.allocations) {
    for (const l of allocation.lines) {
      expected.set(key(paymentId, l.installmentNumber), [l.amount, l.principal, l.interest, l.remainingForInstallment].map(formatMoney).join('/'));
    }
  }
  let mismatched = stored.length !== expected.size;
  for (const r of stored) {
    const got = [r.amount, r.principal, r.interest, r.remaining_for_installment].join('/');
    if (expected.get(key(r.payment_id, r.installment_number)) !== got) mismatched = true;
  }
  if (mismatched) drift.push({ field: 'allocations', persisted: `${stored.length} rows`, recomputed: `${expected.size} rows` });
  return drift;
}

const ALLOCATION_COLUMNS = 'payment_id, installment_number, amount, principal, interest, remaining_for_installment';

/** Compares one credit with its recomputation (read-only). */
export async function checkCredit(m: EntityManager, credit: CreditRow): Promise<StateDrift[]> {
  const schedule = await loadSchedule(m, credit);
  const ledger = await loadLedger(m, credit.id);
  const stored: StoredAllocation[] = await m.query(`SELECT ${ALLOCATION_COLUMNS} FROM payment_allocations WHERE credit_id = $1`, [credit.id]);
  return driftOf(credit, schedule, ledger, stored);
}

function groupBy<T>(rows: T[], keyOf: (r: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const k = keyOf(r);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}

/**
 * Compares many credits at once: three queries for the whole batch (schedules, ledgers,
 * allocations), then the domain recomputation in memory. Returns only the drifted ones.
 */
/** What checking a batch of credits needs: their rows, schedules, ledgers and stored allocations. */
export interface CreditBatch {
  credits: CreditRow[];
  installments: InstallmentRow[];
  payments: Array<{ id: string; credit_id: string; amount: string; payment_date: string }>;
  allocations: Array<StoredAllocation & { credit_id: string }>;
}

/** Reads a batch in three queries (run inside one snapshot by the caller). */
export async function loadCreditBatch(m: EntityManager, credits: CreditRow[]): Promise<CreditBatch> {
  const ids = credits.map((c) => c.id);
  // One connection runs them in turn (a transaction cannot run queries in parallel).
  const installments: InstallmentRow[] = await m.query(`SELECT * FROM credit_installments WHERE credit_id = ANY($1::uuid[]) ORDER BY credit_id, number`, [ids]);
  const payments: CreditBatch['payments'] = await m.query(
    `SELECT id, credit_id, amount, payment_date FROM payments WHERE credit_id = ANY($1::uuid[]) AND status = 'APPLIED' ORDER BY credit_id, ledger_seq`,
    [ids],
  );
  const allocations: CreditBatch['allocations'] = await m.query(`SELECT credit_id, ${ALLOCATION_COLUMNS} FROM payment_allocations WHERE credit_id = ANY($1::uuid[])`, [ids]);
  return { credits, installments, payments, allocations };
}

/** The drifted credits of a batch, recomputed in memory with the domain module (pure). */
export function driftOfBatch(batch: CreditBatch): Map<string, StateDrift[]> {
  const byCreditInstallments = groupBy(batch.installments, (r) => r.credit_id);
  const byCreditPayments = groupBy(batch.payments, (r) => r.credit_id);
  const byCreditAllocations = groupBy(batch.allocations, (r) => r.credit_id);
  const out = new Map<string, StateDrift[]>();
  for (const credit of batch.credits) {
    const schedule = scheduleOf(credit, byCreditInstallments.get(credit.id) ?? []);
    const ledger = (byCreditPayments.get(credit.id) ?? []).map((p) => ({ id: p.id, amount: new Decimal(p.amount), paymentDate: p.payment_date }));
    const drift = driftOf(credit, schedule, ledger, byCreditAllocations.get(credit.id) ?? []);
    if (drift.length) out.set(credit.id, drift);
  }
  return out;
}

export function forgetSchedule(creditId: string) {
  scheduleCache.delete(creditId);
}
