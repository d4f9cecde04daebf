import { EntityManager } from 'typeorm';
import { CreditState, Decimal, LedgerPayment, PaymentAllocation, Schedule, applyPayment, assert, formatMoney, recompute, sumMoney } from '../domain';
import { CreditRow, stateOf, updateCreditsState } from './rows';
import { Columns, copyRows, rowsFrom, runAsOne, Statement } from './statement';
import { AuditEntry, auditStatement, copyAudit } from './audit';
import { loadSchedule } from './credits';
import { markManyChanged } from './verification-marks';

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

/** A payment's place in its credit's ledger: its sequence number and allocation. */
export interface Placed {
  creditId: string;
  paymentId: string;
  seq: number;
  allocation: PaymentAllocation;
}

/** The allocation rows of these payments, by column. */
function allocationColumns(placed: Placed[]): Columns {
  const lines = placed.flatMap((p) => p.allocation.lines.map((l) => ({ p, l })));
  return [
    ['payment_id', 'uuid', lines.map((x) => x.p.paymentId)],
    ['credit_id', 'uuid', lines.map((x) => x.p.creditId)],
    ['installment_number', 'int', lines.map((x) => x.l.installmentNumber)],
    ['amount', 'numeric', lines.map((x) => formatMoney(x.l.amount))],
    ['principal', 'numeric', lines.map((x) => formatMoney(x.l.principal))],
    ['interest', 'numeric', lines.map((x) => formatMoney(x.l.interest))],
    ['remaining_for_installment', 'numeric', lines.map((x) => formatMoney(x.l.remainingForInstallment))],
  ];
}

/** The allocation rows of these payments, one statement for any number of them. */
function allocationsStatement(placed: Placed[]): Statement {
  const from = rowsFrom(allocationColumns(placed));
  return {
    sql: `INSERT INTO payment_allocations (payment_id, credit_id, installment_number, amount, principal, interest, remaining_for_installment)
          SELECT * FROM ${from.sql}`,
    params: from.params,
  };
}

/**
 * The payments row's columns for its place in the ledger, their SQL types, and their values (null when the payment
 * is not in the ledger): the one definition the single payment's update and a file's insert both use.
 */
export const PLACEMENT_COLUMNS = ['ledger_seq', 'principal_portion', 'interest_portion', 'installment_number', 'remaining_for_installment', 'balance_after'];
export const PLACEMENT_TYPES = ['int', 'numeric', 'numeric', 'int', 'numeric', 'numeric'];
export function placementValues(p: Placed | undefined): unknown[] {
  if (!p) return PLACEMENT_COLUMNS.map(() => null);
  const a = p.allocation;
  return [p.seq, formatMoney(a.principal), formatMoney(a.interest), a.installmentNumber, formatMoney(a.remainingForInstallment), formatMoney(a.balanceAfter)];
}

/** Payment rows that exist (PENDING, or APPLIED being renumbered) get their place in the ledger, and are APPLIED. */
function placementStatement(placed: Placed[]): Statement {
  const values = placed.map(placementValues);
  const from = rowsFrom([['id', 'uuid', placed.map((p) => p.paymentId)], ...PLACEMENT_COLUMNS.map((c, i): [string, string, unknown[]] => [c, PLACEMENT_TYPES[i], values.map((v) => v[i])])]);
  return {
    sql: `UPDATE payments p SET ${PLACEMENT_COLUMNS.map((c) => `${c} = u.${c}`).join(', ')}, status = 'APPLIED', applied_at = coalesce(p.applied_at, now())
            FROM ${from.sql} WHERE p.id = u.id`,
    params: from.params,
  };
}

/**
 * The credits' new states, and the mark that each changed since its last verification (the nightly batch checks
 * marked credits): every write of credit state comes through here, so none goes unmarked.
 */
function stateStatements(states: Array<{ creditId: string; state: CreditState; lastSeq: number }>): Statement[] {
  return [updateCreditsState(states), markManyChanged(states.map((s) => s.creditId))];
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
  const placed = [{ creditId: credit.id, paymentId: payment.id, seq, allocation }];
  await runAsOne(m, [
    allocationsStatement(placed),
    placementStatement(placed),
    ...stateStatements([{ creditId: credit.id, state, lastSeq: seq }]),
    ...(audit ? [auditStatement([audit(result)])] : []),
  ]);
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
  // Renumbering keeps ledger order contiguous: negative numbers first, to dodge the unique index, then flipped.
  const placed = allocations.map(({ paymentId, allocation }, i) => ({ creditId: credit.id, paymentId, seq: -(i + 1), allocation }));
  if (placed.length > 0) {
    await runAsOne(m, [allocationsStatement(placed), placementStatement(placed)]);
    await m.query(`UPDATE payments SET ledger_seq = -ledger_seq WHERE credit_id = $1 AND ledger_seq < 0`, [credit.id]);
  }
  await runAsOne(m, stateStatements([{ creditId: credit.id, state, lastSeq: placed.length }]));
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
 * was for the next. Nothing is written: `copyRuns` writes every credit's run of a chunk at once.
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
 * Writes the runs of a chunk (a file's or an import's: thousands of new payments) by the bulk path: every appended
 * payment's allocation rows and the audit entries COPYed, every credit's new state (and change mark) in one
 * statement. The payment rows must exist (COPYed first, APPLIED with their place in the ledger from
 * `placementValues`). The caller holds the transaction and the credits' locks.
 */
export async function copyRuns(m: EntityManager, credits: Array<{ creditId: string; state: CreditState; lastSeq: number }>, appended: Placed[], audit: AuditEntry[]): Promise<void> {
  await copyRows(m, 'payment_allocations', allocationColumns(appended));
  if (credits.length > 0) await runAsOne(m, stateStatements(credits));
  await copyAudit(m, audit);
}
