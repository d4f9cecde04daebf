import { EntityManager } from 'typeorm';
import {
  AllocationLine,
  CreditState,
  LedgerPayment,
  PaymentAllocation,
  Schedule,
  ScheduledInstallment,
  Decimal,
  applyPayment,
  diffState,
  formatMoney,
  moneyTextEquals,
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

/** The persisted state of a credit, as PostgreSQL prints it (what `stateOf` reads of a credits row). */
type PersistedState = Pick<CreditRow, 'total_paid' | 'balance' | 'paid_installments' | 'payment_count' | 'last_payment_date' | 'status'>;

/**
 * Persisted state and allocations against the recomputation from the ledger (pure). Every field and every
 * allocation row is compared by value with the domain's recomputation; the stored text is compared without
 * parsing it (moneyTextEquals). When something differs, the drift is described exactly as `diffState` and the
 * allocation count do.
 */
function driftOf(credit: PersistedState, schedule: Schedule, ledger: LedgerPayment[], stored: StoredAllocation[]): StateDrift[] {
  let recomputed;
  try {
    recomputed = recompute(schedule, ledger);
  } catch (err) {
    // A ledger the domain refuses (e.g. more paid than owed) is drift too.
    return [{ field: 'ledger', persisted: `${ledger.length} payments`, recomputed: (err as Error).message }];
  }
  const s = recomputed.state;
  const sameState =
    moneyTextEquals(s.totalPaid, credit.total_paid) &&
    moneyTextEquals(s.balance, credit.balance) &&
    s.paidInstallments === credit.paid_installments &&
    s.paymentCount === credit.payment_count &&
    s.lastPaymentDate === credit.last_payment_date &&
    s.status === credit.status;
  // stateOf reads only the persisted-state columns.
  const drift = sameState ? [] : diffState(stateOf(credit as CreditRow), s);

  // Each payment's recomputed lines, one per instalment it touches, in instalment order.
  const lines = new Map<string, AllocationLine[]>();
  let expected = 0;
  for (const { paymentId, allocation } of recomputed.allocations) {
    lines.set(paymentId, allocation.lines);
    expected += allocation.lines.length;
  }
  let mismatched = stored.length !== expected;
  for (let i = 0; i < stored.length && !mismatched; i++) {
    const r = stored[i];
    const of = lines.get(r.payment_id);
    let l: AllocationLine | undefined;
    for (let j = 0; of && j < of.length && !l; j++) if (of[j].installmentNumber === r.installment_number) l = of[j];
    mismatched =
      l === undefined ||
      !moneyTextEquals(l.amount, r.amount) ||
      !moneyTextEquals(l.principal, r.principal) ||
      !moneyTextEquals(l.interest, r.interest) ||
      !moneyTextEquals(l.remainingForInstallment, r.remaining_for_installment);
  }
  if (mismatched) drift.push({ field: 'allocations', persisted: `${stored.length} rows`, recomputed: `${expected} rows` });
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

// ---------------------------------------------------------------------------------------------
// Checking many credits (the recalculation's chunks, the consistency check): one query, one row per
// credit, then the domain in memory.

/**
 * One credit of a chunk as the check reads it: the persisted state, and its schedule, ledger and
 * allocation rows each folded by PostgreSQL into one space-separated text (numbers and amounts as
 * PostgreSQL prints them), so that a chunk of thousands of credits is one statement (one snapshot) and
 * thousands of rows, not a hundred thousand.
 */
export interface ChunkCredit extends PersistedState {
  id: string;
  total_amount: string;
  total_interest: string;
  installment_amount: string;
  /** Due date of the first instalment (the start date: payments may not be dated before it). */
  first_due: string | null;
  /** "number amount principal cumulative_due" per instalment: what the waterfall reads of it. */
  schedule: string | null;
  /** "ledger_seq id amount payment_date" per applied payment (ledger_seq "-" when missing: last). */
  ledger: string | null;
  /** "payment_id installment_number amount principal interest remaining_for_installment" per allocation row. */
  allocations: string | null;
}

export interface ChunkRange {
  /** Credits with lo < id ≤ hi, */
  lo: string;
  hi: string;
  /** and, when given, only these. */
  creditIds?: string[];
}

/**
 * The statement that reads a chunk of credits with everything the check compares, in ONE statement (so one
 * snapshot, without a transaction): the credits by id range and, for each, the aggregated text of its
 * instalments, applied payments and allocation rows, each read by its credit_id index (no sort, no
 * temporary files).
 */
export function chunkStatement(range: ChunkRange): { text: string; values: unknown[] } {
  return {
    text: `SELECT c.id, c.status, c.total_amount, c.total_interest, c.installment_amount, c.balance, c.total_paid,
            c.paid_installments, c.payment_count, c.last_payment_date,
            i.first_due, i.schedule,
            (SELECT string_agg(concat_ws(' ', coalesce(ledger_seq::text, '-'), id, amount, payment_date), ' ')
               FROM payments WHERE credit_id = c.id AND status = 'APPLIED') AS ledger,
            (SELECT string_agg(concat_ws(' ', payment_id, installment_number, amount, principal, interest, remaining_for_installment), ' ')
               FROM payment_allocations WHERE credit_id = c.id) AS allocations
       FROM credits c
       LEFT JOIN LATERAL (
              SELECT min(due_date) AS first_due,
                     string_agg(concat_ws(' ', number, amount, principal, cumulative_due), ' ') AS schedule
                FROM credit_installments WHERE credit_id = c.id) i ON true
      WHERE c.id > $1 AND c.id <= $2${range.creditIds ? ' AND c.id = ANY($3::uuid[])' : ''}
      ORDER BY c.id`,
    values: range.creditIds ? [range.lo, range.hi, range.creditIds] : [range.lo, range.hi],
  };
}

/** Runs chunkStatement and returns its rows. */
export async function loadChunk(q: Pick<EntityManager, 'query'>, range: ChunkRange): Promise<ChunkCredit[]> {
  const { text, values } = chunkStatement(range);
  return q.query(text, values);
}

/** Decimal of each text of one column; a text equal to the one before (a FLAT schedule's repeated amounts) is parsed once. */
class MoneyReader {
  private text = '';
  private value = new Decimal(0);
  read(text: string): Decimal {
    if (text !== this.text) {
      this.value = new Decimal(text);
      this.text = text;
    }
    return this.value;
  }
}

/** Record numbers in order (a GROUP BY feeds string_agg in no promised order): the permutation, or null if in order. */
function orderOf(keys: number[]): number[] | null {
  for (let i = 1; i < keys.length; i++) {
    if (!(keys[i - 1] <= keys[i])) return keys.map((_, j) => j).sort((x, y) => keys[x] - keys[y]);
  }
  return null;
}

/**
 * An instalment of a chunk credit as the waterfall reads it from its row: number, amount, principal,
 * cumulative due, and (the first instalment) the due date. The check reads nothing else of a schedule, so it
 * does not fetch the rest; asking for it is a programming error, said loudly rather than answered with a guess.
 */
class ChunkInstallment implements ScheduledInstallment {
  constructor(
    readonly number: number,
    /** The first instalment's due date, given to the first instalment only. */
    private readonly firstDue: string | null,
    readonly amount: Decimal,
    readonly principal: Decimal,
    readonly cumulativeDue: Decimal,
  ) {}
  get dueDate(): string {
    if (this.firstDue !== null) return this.firstDue;
    throw new Error(`the recalculation check does not read the due date of instalment ${this.number}`);
  }
  get interest(): Decimal {
    throw new Error(`the recalculation check does not read the interest of instalment ${this.number}`);
  }
}

/** The stored schedule of a chunk credit, as the waterfall reads it (see ChunkInstallment). */
function chunkSchedule(c: ChunkCredit): Schedule {
  const t = c.schedule ? c.schedule.split(' ') : [];
  const n = t.length / 4;
  const numbers: number[] = [];
  for (let k = 0; k < n; k++) numbers.push(Number(t[4 * k]));
  const order = orderOf(numbers);
  const installments: ScheduledInstallment[] = [];
  const amounts = new MoneyReader();
  const principals = new MoneyReader();
  for (let j = 0; j < n; j++) {
    const k = order ? order[j] : j;
    const o = 4 * k;
    installments.push(new ChunkInstallment(numbers[k], j === 0 ? c.first_due : null, amounts.read(t[o + 1]), principals.read(t[o + 2]), new Decimal(t[o + 3])));
  }
  return new ChunkSchedule(c, installments);
}

/** A chunk credit's schedule; its totals other than totalAmount (which the waterfall reads) parsed only when asked for. */
class ChunkSchedule implements Schedule {
  readonly totalAmount: Decimal;
  constructor(
    private readonly credit: ChunkCredit,
    readonly installments: ScheduledInstallment[],
  ) {
    this.totalAmount = new Decimal(credit.total_amount);
  }
  get totalInterest(): Decimal {
    return new Decimal(this.credit.total_interest);
  }
  get installmentAmount(): Decimal {
    return new Decimal(this.credit.installment_amount);
  }
}

/** The applied payments of a chunk credit in ledger order (as `loadLedger` reads them). */
function chunkLedger(c: ChunkCredit): LedgerPayment[] {
  if (!c.ledger) return [];
  const t = c.ledger.split(' ');
  const m = t.length / 4;
  const seqs: number[] = [];
  for (let k = 0; k < m; k++) seqs.push(t[4 * k] === '-' ? Infinity : Number(t[4 * k]));
  const order = orderOf(seqs);
  const ledger: LedgerPayment[] = [];
  const amounts = new MoneyReader();
  for (let j = 0; j < m; j++) {
    const o = 4 * (order ? order[j] : j);
    ledger.push({ id: t[o + 1], amount: amounts.read(t[o + 2]), paymentDate: t[o + 3] });
  }
  return ledger;
}

function chunkAllocations(c: ChunkCredit): StoredAllocation[] {
  if (!c.allocations) return [];
  const t = c.allocations.split(' ');
  const out: StoredAllocation[] = [];
  for (let o = 0; o < t.length; o += 6) {
    out.push({ payment_id: t[o], installment_number: Number(t[o + 1]), amount: t[o + 2], principal: t[o + 3], interest: t[o + 4], remaining_for_installment: t[o + 5] });
  }
  return out;
}

export interface CreditDrift {
  creditId: string;
  drift: StateDrift[];
}

/** One credit of a chunk against its recomputation from its ledger with the domain module (pure); [] = consistent. */
export function driftOfChunkCredit(c: ChunkCredit): StateDrift[] {
  return driftOf(c, chunkSchedule(c), chunkLedger(c), chunkAllocations(c));
}

/** The drifted credits of a chunk (in id order). */
export function driftOfChunk(credits: ChunkCredit[]): CreditDrift[] {
  const out: CreditDrift[] = [];
  for (const c of credits) {
    const drift = driftOfChunkCredit(c);
    if (drift.length) out.push({ creditId: c.id, drift });
  }
  return out;
}

export function forgetSchedule(creditId: string) {
  scheduleCache.delete(creditId);
}
