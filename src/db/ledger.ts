import { EntityManager } from 'typeorm';
import { CreditState, Decimal, LedgerPayment, PaymentAllocation, Schedule, applyPayment, assert, formatMoney, recompute, sumMoney } from '../domain';
import { CreditRow, UPDATE_CREDIT_STATE, UPDATE_CREDITS_STATE, stateOf, stateParams } from './rows';
import { runAsOne, Statement } from './statement';
import { AuditEntry, appendAuditMany, auditStatement } from './audit';
import { loadSchedule } from './credits';
import { markChanged, markManyChanged } from './verification-marks';

/**
 * The only code that writes a credit's state (balance, totals, status) and its payments' place in the ledger
 * (allocation rows, ledger_seq, portions). Every path (payment, reversal, compensation, recalculation) comes
 * through here and computes with the domain module; callers hold a transaction and the credit's row lock.
 * Before anything is written, the ledger's invariants are asserted: Σ allocations = amount for each payment,
 * balance = total − paid for the credit (the database's CHECKs are the second line).
 */

/** What the ledger of one credit is computed from: its stored schedule and its applied payments in order. */
export interface CreditBook {
  schedule: Schedule;
  ledger: LedgerPayment[];
}

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

/** The credit's applied payments in ledger order: the one ledger loader. */
export async function loadLedger(m: EntityManager, creditId: string): Promise<LedgerPayment[]> {
  const rows: Array<{ id: string; amount: string; payment_date: string }> = await m.query(
    `SELECT id, amount, payment_date FROM payments WHERE credit_id = $1 AND status = 'APPLIED' ORDER BY ledger_seq`,
    [creditId],
  );
  return rows.map((r) => ({ id: r.id, amount: new Decimal(r.amount), paymentDate: r.payment_date }));
}

export async function loadBook(m: EntityManager, credit: CreditRow): Promise<CreditBook> {
  return { schedule: await loadSchedule(m, credit), ledger: await loadLedger(m, credit.id) };
}

function assertAllocated(paymentId: string, amount: Decimal, a: PaymentAllocation): void {
  assert(sumMoney(a.lines.map((l) => l.amount)).eq(amount), `payment ${paymentId}: Σ allocations = amount`);
  assert(a.principal.plus(a.interest).eq(amount), `payment ${paymentId}: principal + interest = amount`);
}

function assertBalanced(schedule: Schedule, s: CreditState): void {
  assert(s.balance.eq(schedule.totalAmount.minus(s.totalPaid)), 'balance = total − paid');
  assert(!s.balance.isNegative(), 'balance ≥ 0');
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

/**
 * The credit's new state, and the mark that it changed since its last verification (the nightly batch checks
 * marked credits): every write of credit state comes through here, so none goes unmarked.
 */
function stateStatements(creditId: string, s: CreditState, lastSeq: number): Statement[] {
  return [{ sql: UPDATE_CREDIT_STATE, params: [creditId, ...stateParams(s), lastSeq] }, markChanged(creditId)];
}

export interface Appended {
  state: CreditState;
  allocation: PaymentAllocation;
  seq: number;
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
  audit?: (r: Appended) => AuditEntry,
): Promise<Appended> {
  const schedule = await loadSchedule(m, credit);
  const { state, allocation } = applyPayment(schedule, stateOf(credit), payment);
  assertAllocated(payment.id, payment.amount, allocation);
  assertBalanced(schedule, state);
  const seq = credit.last_ledger_seq + 1;
  const result = { state, allocation, seq };
  await runAsOne(m, [...allocationStatements(credit.id, payment.id, seq, allocation), ...stateStatements(credit.id, state, seq), ...(audit ? [auditStatement(audit(result))] : [])]);
  return result;
}

/**
 * Rewrites the credit's state and every applied payment's allocation from its ledger (loaded unless
 * the caller has it). Used after a payment leaves the ledger (reversal, compensation) and to correct drift.
 */
export async function rebuildFromLedger(m: EntityManager, credit: CreditRow, loaded?: CreditBook): Promise<{ before: CreditState; after: CreditState }> {
  const { schedule, ledger } = loaded ?? (await loadBook(m, credit));
  const { state, allocations } = recompute(schedule, ledger);
  assertBalanced(schedule, state);
  for (let i = 0; i < allocations.length; i++) assertAllocated(ledger[i].id, ledger[i].amount, allocations[i].allocation);
  await m.query(`DELETE FROM payment_allocations WHERE credit_id = $1`, [credit.id]);
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
  await runAsOne(m, stateStatements(credit.id, state, seq));
  return { before: stateOf(credit), after: state };
}

/** Locks many credits in id order, so chunks and single payments never wait on each other in a cycle. */
export async function lockCredits(m: Pick<EntityManager, 'query'>, ids: string[], lock = true): Promise<CreditRow[]> {
  return m.query(`SELECT * FROM credits WHERE id = ANY($1::uuid[]) ORDER BY id ${lock ? 'FOR UPDATE' : ''}`, [ids]);
}

/** One payment of a credit's run: appended (its place in the ledger), or refused by the domain with nothing changed. */
export type RunResult = ({ ok: true } & Appended & { balanceBefore: Decimal }) | { ok: false; error: unknown };

/**
 * Appends a run of payments to one credit's ledger in memory, in the order given, each through the domain's
 * applyPayment after `check` (which may throw the domain's refusal); a refused payment leaves the state as it
 * was for the next. Nothing is written: `writeRuns` writes every credit's run of a chunk at once.
 */
export function appendRun(
  schedule: Schedule,
  credit: CreditRow,
  payments: Array<{ id: string; amount: Decimal; paymentDate: string }>,
  check: (p: { paymentDate: string }) => void,
): { results: RunResult[]; state: CreditState; lastSeq: number } {
  return appendRunFrom(schedule, { state: stateOf(credit), lastSeq: credit.last_ledger_seq }, payments, check);
}

/** appendRun from a given state and last sequence number (a credit being created: the schedule's initial state, 0). */
export function appendRunFrom(
  schedule: Schedule,
  start: { state: CreditState; lastSeq: number },
  payments: Array<{ id: string; amount: Decimal; paymentDate: string }>,
  check: (p: { paymentDate: string }) => void,
): { results: RunResult[]; state: CreditState; lastSeq: number } {
  let state = start.state;
  let seq = start.lastSeq;
  const results = payments.map((p): RunResult => {
    try {
      check(p);
      const r = applyPayment(schedule, state, p);
      assertAllocated(p.id, p.amount, r.allocation);
      assertBalanced(schedule, r.state);
      const balanceBefore = state.balance;
      state = r.state;
      return { ok: true, state: r.state, allocation: r.allocation, seq: ++seq, balanceBefore };
    } catch (error) {
      return { ok: false, error };
    }
  });
  return { results, state, lastSeq: seq };
}

/**
 * Writes the runs of a chunk: every appended payment's allocation rows and place in the ledger (APPLIED), every
 * credit's new state, and the audit entries describing them, a few statements for the whole chunk. The caller
 * holds the transaction and the credits' locks, and wrote the payment rows (PENDING) before.
 */
export async function writeRuns(
  m: Pick<EntityManager, 'query'>,
  credits: Array<{ creditId: string; state: CreditState; lastSeq: number }>,
  appended: Array<{ creditId: string; paymentId: string; seq: number; allocation: PaymentAllocation }>,
  audit: AuditEntry[],
): Promise<void> {
  const lines = appended.flatMap((p) => p.allocation.lines.map((l) => ({ p, l })));
  if (lines.length > 0) {
    await m.query(
      `INSERT INTO payment_allocations (payment_id, credit_id, installment_number, amount, principal, interest, remaining_for_installment)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::numeric[], $5::numeric[], $6::numeric[], $7::numeric[])`,
      [
        lines.map((x) => x.p.paymentId),
        lines.map((x) => x.p.creditId),
        lines.map((x) => x.l.installmentNumber),
        lines.map((x) => formatMoney(x.l.amount)),
        lines.map((x) => formatMoney(x.l.principal)),
        lines.map((x) => formatMoney(x.l.interest)),
        lines.map((x) => formatMoney(x.l.remainingForInstallment)),
      ],
    );
    const a = appended.map((p) => p.allocation);
    await m.query(
      `UPDATE payments p SET ledger_seq = u.seq, principal_portion = u.principal, interest_portion = u.interest, installment_number = u.inst,
              remaining_for_installment = u.remaining, balance_after = u.balance_after, status = 'APPLIED', applied_at = coalesce(p.applied_at, now())
         FROM unnest($1::uuid[], $2::int[], $3::numeric[], $4::numeric[], $5::int[], $6::numeric[], $7::numeric[])
              AS u(id, seq, principal, interest, inst, remaining, balance_after)
        WHERE p.id = u.id`,
      [
        appended.map((p) => p.paymentId),
        appended.map((p) => p.seq),
        a.map((x) => formatMoney(x.principal)),
        a.map((x) => formatMoney(x.interest)),
        a.map((x) => x.installmentNumber),
        a.map((x) => formatMoney(x.remainingForInstallment)),
        a.map((x) => formatMoney(x.balanceAfter)),
      ],
    );
  }
  if (credits.length > 0) {
    const params = credits.map((c) => stateParams(c.state));
    await m.query(UPDATE_CREDITS_STATE, [credits.map((c) => c.creditId), ...[0, 1, 2, 3, 4, 5].map((i) => params.map((p) => p[i])), credits.map((c) => c.lastSeq)]);
    const mark = markManyChanged(credits.map((c) => c.creditId));
    await m.query(mark.sql, mark.params);
  }
  await appendAuditMany(m, audit);
}
