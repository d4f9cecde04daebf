import type { EntityManager } from 'typeorm';
// The check's hot path imports each module itself (not through the domain's index and its re-export getters).
import { centsNumberIn, parseCents, parseCentsIn } from '../domain/money';
import type { CentsInstallment, CentsSchedule } from '../domain/ledger-schedule';
import type { CentsPayment } from '../domain/waterfall-cents';
import type { StateDrift } from '../domain/drift';
import { driftOfCents, PersistedState, StoredAllocation } from './credit-drift';

// Checking many credits (the recalculation's chunks, the consistency check): one query, one row per
// credit, then the domain in memory.

/**
 * One credit of a chunk as the check reads it: the persisted state, and its schedule, ledger and
 * allocation rows each folded by PostgreSQL into one space-separated text (numbers and amounts as
 * PostgreSQL prints them), so that thousands of credits are one statement (one snapshot) and
 * thousands of rows, not a hundred thousand.
 */
export interface ChunkCredit extends PersistedState {
  id: string;
  total_amount: string;
  /** Due date of the first instalment (the start date: payments may not be dated before it). */
  first_due: string | null;
  /** "number amount principal cumulative_due" per instalment: what the waterfall reads of it. */
  schedule: string | null;
  /** "ledger_seq id amount payment_date" per applied payment (ledger_seq "-" when missing: last). */
  ledger: string | null;
  /** "payment_id installment_number amount principal interest remaining_for_installment" per allocation row. */
  allocations: string | null;
  /** The credit's change mark as this snapshot saw it (null: unmarked): what a proven credit clears. */
  change_seq: string | null;
}

export interface ChunkRange {
  /** Credits with lo < id ≤ hi, */
  lo: string;
  hi: string;
  /** and, when given, only these, */
  creditIds?: string[];
  /** or only those in this INCREMENTAL batch's scope. */
  scopeRunId?: string;
  /** Credits per statement (default STATEMENT_CREDITS; tests make it small to read a chunk by several). */
  statementCredits?: number;
}

/**
 * The most credits one chunk statement reads. A chunk (a batch's unit of work, one Temporal activity) may hold more:
 * it is then read by several statements in id order, each credit whole in one of them (so in one snapshot), and
 * a statement stays well inside the statement timeout whatever the chunk's size and however long the ledgers.
 */
export const STATEMENT_CREDITS = 2000;

/** The chunk's filter beyond its id range: named credits, or a batch's scope (parameter $3). */
function chunkFilter(range: ChunkRange): { sql: string; values: unknown[] } {
  if (range.creditIds) return { sql: ' AND c.id = ANY($3::uuid[])', values: [range.creditIds] };
  if (range.scopeRunId) return { sql: ' AND c.id IN (SELECT credit_id FROM recalculation_scope WHERE run_id = $3 AND credit_id > $1 AND credit_id <= $2)', values: [range.scopeRunId] };
  return { sql: '', values: [] };
}

/**
 * The statement that reads a chunk's credits with everything the check compares (the first STATEMENT_CREDITS of
 * them; readChunkByStatements reads the rest), each credit whole in ONE statement (so one snapshot, without a
 * transaction): the credits by id range and, for each, the aggregated text of its instalments, applied payments
 * and allocation rows, each read by its credit_id index (no sort, no temporary files).
 */
export function chunkStatement(range: ChunkRange): { text: string; values: unknown[] } {
  const filter = chunkFilter(range);
  return {
    text: `SELECT c.id, c.status, c.total_amount, c.balance, c.total_paid,
            c.paid_installments, c.payment_count, c.last_payment_date,
            i.first_due, i.schedule,
            (SELECT string_agg(concat_ws(' ', coalesce(ledger_seq::text, '-'), id, amount, payment_date), ' ')
               FROM payments WHERE credit_id = c.id AND status = 'APPLIED') AS ledger,
            (SELECT string_agg(concat_ws(' ', payment_id, installment_number, amount, principal, interest, remaining_for_installment), ' ')
               FROM payment_allocations WHERE credit_id = c.id) AS allocations,
            (SELECT change_seq FROM credit_changes WHERE credit_id = c.id) AS change_seq
       FROM credits c
       LEFT JOIN LATERAL (
              SELECT min(due_date) AS first_due,
                     string_agg(concat_ws(' ', number, amount, principal, cumulative_due), ' ') AS schedule
                FROM credit_installments WHERE credit_id = c.id) i ON true
      WHERE c.id > $1 AND c.id <= $2${filter.sql}
      ORDER BY c.id
      LIMIT ${statementCreditsOf(range)}`,
    values: [range.lo, range.hi, ...filter.values],
  };
}

function statementCreditsOf(range: ChunkRange): number {
  const n = range.statementCredits ?? STATEMENT_CREDITS;
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`statementCredits must be a positive integer, not ${n}`);
  return n;
}

/**
 * Reads a chunk statement by statement, in id order: `read` runs one (chunkStatement of what is left) and answers
 * how many credits it read and the last one's id; a statement that reads fewer than its limit ends the chunk.
 */
export async function readChunkByStatements(range: ChunkRange, read: (statement: { text: string; values: unknown[] }) => Promise<{ count: number; lastId?: string }>): Promise<void> {
  const limit = statementCreditsOf(range);
  for (let rest: ChunkRange | undefined = range; rest; ) {
    const { count, lastId } = await read(chunkStatement(rest));
    rest = count < limit || lastId === undefined ? undefined : { ...rest, lo: lastId };
  }
}

/** The rows of chunkStatement over the whole chunk (a statement at a time). */
export async function loadChunk(q: Pick<EntityManager, 'query'>, range: ChunkRange): Promise<ChunkCredit[]> {
  const rows: ChunkCredit[] = [];
  await readChunkByStatements(range, async ({ text, values }) => {
    const page: ChunkCredit[] = await q.query(text, values);
    for (const r of page) rows.push(r);
    return { count: page.length, lastId: page[page.length - 1]?.id };
  });
  return rows;
}

/** Record numbers in order (a GROUP BY feeds string_agg in no promised order): the permutation, or null if in order. */
function orderOf(keys: number[]): number[] | null {
  for (let i = 1; i < keys.length; i++) {
    if (!(keys[i - 1] <= keys[i])) return keys.map((_, j) => j).sort((x, y) => keys[x] - keys[y]);
  }
  return null;
}

/**
 * Reads one of the chunk's space-separated texts field by field, in place: only the fields kept as strings (ids,
 * dates) are cut out of it. A full check of a million credits reads some 200 million fields; cutting each into a
 * string of its own was much of the check's own work.
 */
class Fields {
  private at = 0;
  private start = 0;
  private end = 0;
  constructor(private readonly text: string) {}

  get done(): boolean {
    return this.at >= this.text.length;
  }

  private step(): void {
    this.start = this.at;
    const e = this.text.indexOf(' ', this.at);
    this.end = e < 0 ? this.text.length : e;
    this.at = this.end + 1;
  }

  string(): string {
    this.step();
    return this.text.slice(this.start, this.end);
  }

  /** An integer as PostgreSQL prints one; `dash` for "-" (a missing value). */
  int(dash = NaN): number {
    this.step();
    const { text, start, end } = this;
    if (end - start === 1 && text.charCodeAt(start) === 45) return dash;
    let v = 0;
    for (let i = start; i < end; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return Number(text.slice(start, end));
      v = v * 10 + d;
    }
    return v;
  }

  cents(): bigint {
    this.step();
    return parseCentsIn(this.text, this.start, this.end);
  }

  /** Cents as an exact number (NaN when not whole cents), for comparing. */
  centsNumber(): number {
    this.step();
    return centsNumberIn(this.text, this.start, this.end);
  }
}

/**
 * The stored schedule of a chunk credit in cents, as the waterfall reads it: each instalment's number,
 * amount, principal and cumulative due, and the first one's due date (the start date). The check reads nothing
 * else of a schedule, so the chunk statement does not fetch the rest.
 */
function chunkSchedule(c: ChunkCredit): CentsSchedule {
  const installments: CentsInstallment[] = [];
  const numbers: number[] = [];
  // Every instalment has the same shape (dueDate present, undefined until the first is known): one hidden class.
  for (const f = new Fields(c.schedule ?? ''); !f.done; ) {
    const number = f.int();
    numbers.push(number);
    installments.push({ number, amount: f.cents(), principal: f.cents(), cumulativeDue: f.cents(), dueDate: undefined });
  }
  const order = orderOf(numbers);
  const inOrder = order ? order.map((k) => installments[k]) : installments;
  if (inOrder.length) inOrder[0].dueDate = c.first_due ?? undefined;
  return { totalAmount: parseCents(c.total_amount), installments: inOrder };
}

/** The applied payments of a chunk credit in ledger order (as `loadLedger` reads them; a missing ledger_seq last). */
function chunkLedger(c: ChunkCredit): CentsPayment[] {
  const ledger: CentsPayment[] = [];
  const seqs: number[] = [];
  for (const f = new Fields(c.ledger ?? ''); !f.done; ) {
    seqs.push(f.int(Infinity));
    ledger.push({ id: f.string(), amount: f.cents(), paymentDate: f.string() });
  }
  const order = orderOf(seqs);
  return order ? order.map((k) => ledger[k]) : ledger;
}

function chunkAllocations(c: ChunkCredit): StoredAllocation[] {
  const out: StoredAllocation[] = [];
  for (const f = new Fields(c.allocations ?? ''); !f.done; ) {
    out.push({ paymentId: f.string(), installmentNumber: f.int(), amount: f.centsNumber(), principal: f.centsNumber(), interest: f.centsNumber(), remaining: f.centsNumber() });
  }
  return out;
}

export interface CreditDrift {
  creditId: string;
  drift: StateDrift[];
}

/** One credit of a chunk against its recomputation from its ledger with the domain module (pure); [] = consistent. */
export function driftOfChunkCredit(c: ChunkCredit): StateDrift[] {
  return driftOfCents(c, chunkSchedule(c), chunkLedger(c), chunkAllocations(c));
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

