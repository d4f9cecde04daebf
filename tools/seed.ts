// The portfolio seeder (scripts/seed.ts is its command line; tests and benchmarks import it).
//
// Bulk-loads a realistic portfolio through PostgreSQL COPY (pg-copy-streams), never row by row, with CONSISTENT
// state: every credit's schedule, payments, allocations and persisted figures are what the domain module computes
// (buildSchedule + recompute from src/domain).
//
// How it stays fast at 1,000,000 credits × 10 payments: the domain computes a set of distinct credit TEMPLATES
// (terms + the amounts of its payments: schedule, allocations, state), default min(credits, 2000). Each credit is
// a template replicated with new ids, its own client and start date: amounts and allocations do not depend on
// dates, so only due dates, payment dates and ids are filled in per credit, as pre-formatted COPY text. With
// --drift K, K credits get a persisted state one cent off their ledger (for the recalculation's tests); their ids
// are returned.
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { DataSource } from 'typeorm';
import {
  addDays,
  buildSchedule,
  daysBetween,
  Decimal,
  formatMoney,
  LedgerPayment,
  recompute,
  ScheduleType,
  todayIn,
  validateTerms,
} from '../src/domain';
import { MARK_UNVERIFIED } from '../src/db/verification-marks';

export interface SeedOptions {
  credits: number;
  paymentsPerCredit: number;
  /** Credits whose persisted state is made to drift from their ledger (one cent). */
  drift?: number;
  /** PRNG seed: the same seed and options give the same amounts and dates (ids differ). */
  seed?: number;
  /** Distinct credit templates computed with the domain (default min(credits, 2000)). */
  templates?: number;
  /** No payment is dated after it (default today, UTC). */
  baseDate?: string;
  /** Instalment counts to draw from (default a mix from 3 to 24). */
  installments?: number[];
  scheduleTypes?: ScheduleType[];
  /** Shares of the total amount that a credit's payments add up to, drawn per template (default a mix 0.4..1.2). */
  repaidShares?: number[];
  clientPrefix?: string;
  log?: (msg: string) => void;
}

export interface SeedResult {
  credits: number;
  installments: number;
  payments: number;
  allocations: number;
  templates: number;
  driftedCreditIds: string[];
  firstCreditId: string | null;
  lastCreditId: string | null;
  fkChecks: boolean;
  ms: number;
}

/** mulberry32: small, fast, seedable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Time-ordered ids (UUIDv7 layout: ms timestamp, per-run random bits, then a counter), so that loads append to the
 * B-trees. Returns a factory: every call restarts the same sequence (each COPY pass walks the same ids).
 */
function idSequence(): () => () => string {
  const ts = Date.now().toString(16).padStart(12, '0');
  const rand = randomInt(0, 0x1000).toString(16).padStart(3, '0');
  const head = `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${rand}-`;
  const first = randomInt(0, 0x10000) * 0x100000; // leaves room for 2^52 more ids
  return () => {
    let counter = first;
    return () => {
      const c = (counter++).toString(16).padStart(15, '0');
      return `${head}${(8 + (parseInt(c[0], 16) & 3)).toString(16)}${c.slice(1, 4)}-${c.slice(4, 15).padStart(12, '0')}`;
    };
  };
}

interface Template {
  n: number;
  periodDays: number;
  /** credits row: after start_date up to (not including) last_payment_date. */
  creditMid: string;
  creditMidDrift: string | null;
  creditHead: string;
  /** credits row: after last_payment_date. */
  creditTail: string;
  installmentTails: string[];
  payments: Array<{ amount: string; tail: string; allocations: Array<{ head: string; tail: string }> }>;
}

const RATES = ['0', '0.01', '0.015', '0.02', '0.03', '0.05'];
const PERIODS = [7, 14, 15, 30, 30, 30];
const DEFAULT_INSTALLMENTS = [3, 6, 6, 12, 12, 12, 12, 18, 24, 24];
/** Share of the total that a credit's payments add up to: arrears, on time, early pay-off. */
const BEHAVIOURS = [0.4, 0.7, 0.9, 1.0, 1.0, 1.2];

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)];
}

function cents(rnd: () => number, lo: number, hi: number): Decimal {
  return new Decimal(Math.floor(lo * 100 + rnd() * (hi - lo) * 100)).div(100);
}

function buildTemplate(rnd: () => number, opts: SeedOptions): Template {
  for (;;) {
    const n = pick(rnd, opts.installments ?? DEFAULT_INSTALLMENTS);
    const periodDays = pick(rnd, PERIODS);
    const scheduleType = pick(rnd, opts.scheduleTypes ?? (['FLAT', 'DECLINING'] as ScheduleType[]));
    let terms;
    let schedule;
    try {
      terms = validateTerms({
        principal: formatMoney(cents(rnd, 300, 50000)),
        interestRate: pick(rnd, RATES),
        installments: n,
        periodDays,
        startDate: '2000-01-01',
        scheduleType,
      });
      schedule = buildSchedule(terms);
    } catch {
      continue; // a principal too small for its instalments: draw again
    }
    // The payments: their amounts add up to behaviour × total (capped at the balance).
    const m = opts.paymentsPerCredit;
    const share = pick(rnd, opts.repaidShares ?? BEHAVIOURS);
    const target = schedule.totalAmount.times(share);
    const ledger: LedgerPayment[] = [];
    let remaining = schedule.totalAmount;
    for (let j = 0; j < m && remaining.gt(0); j++) {
      let a = target.div(m).times(0.7 + rnd() * 0.6).toDecimalPlaces(2, Decimal.ROUND_HALF_EVEN);
      if (j === m - 1 && share >= 1) a = remaining;
      if (a.lt('0.01')) a = new Decimal('0.01');
      if (a.gt(remaining)) a = remaining;
      ledger.push({ id: String(j), amount: a, paymentDate: '2000-01-01' });
      remaining = remaining.minus(a);
    }
    const { state, allocations } = recompute(schedule, ledger);
    const stateTail = (totalPaid: Decimal, balance: Decimal, status: string, count: number) =>
      `\t${scheduleType}\t${status}\t${formatMoney(schedule.totalInterest)}\t${formatMoney(schedule.totalAmount)}\t${formatMoney(schedule.installmentAmount)}\t${formatMoney(balance)}\t${formatMoney(totalPaid)}\t${state.paidInstallments}\t${count}\t`;
    const creditHead = `\t${formatMoney(terms.principal)}\t${terms.interestRate.toFixed()}\t${n}\t${periodDays}\t`;
    const creditMid = stateTail(state.totalPaid, state.balance, state.status, state.paymentCount);
    // Drift: one cent less paid than the ledger says (or one payment too many counted when nothing was paid).
    const creditMidDrift = state.totalPaid.gt(0)
      ? stateTail(state.totalPaid.minus('0.01'), state.balance.plus('0.01'), 'ACTIVE', state.paymentCount)
      : stateTail(state.totalPaid, state.balance, state.status, state.paymentCount + 1);
    return {
      n,
      periodDays,
      creditHead,
      creditMid,
      creditMidDrift,
      creditTail: `\t${state.paymentCount}\tseed\n`,
      installmentTails: schedule.installments.map(
        (i) => `\t${formatMoney(i.amount)}\t${formatMoney(i.principal)}\t${formatMoney(i.interest)}\t${formatMoney(i.cumulativeDue)}\n`,
      ),
      payments: allocations.map(({ allocation: a }, j) => ({
        amount: formatMoney(a.amount),
        tail: `\t\\N\tAPPLIED\t${j + 1}\t${formatMoney(a.principal)}\t${formatMoney(a.interest)}\t${a.installmentNumber}\t${formatMoney(a.remainingForInstallment)}\t${formatMoney(a.balanceAfter)}\t`,
        allocations: a.lines.map((l) => ({
          head: `\t${l.installmentNumber}\t`,
          tail: `\t${formatMoney(l.amount)}\t${formatMoney(l.principal)}\t${formatMoney(l.interest)}\t${formatMoney(l.remainingForInstallment)}\n`,
        })),
      })),
    };
  }
}

const COPY = {
  credits: `COPY credits (id, client_id, principal, interest_rate, installments, period_days, start_date, schedule_type, status,
             total_interest, total_amount, installment_amount, balance, total_paid, paid_installments, payment_count,
             last_payment_date, last_ledger_seq, created_by) FROM STDIN`,
  installments: `COPY credit_installments (credit_id, number, due_date, amount, principal, interest, cumulative_due) FROM STDIN`,
  payments: `COPY payments (id, credit_id, idempotency_key, amount, payment_date, reference, status, ledger_seq, principal_portion,
              interest_portion, installment_number, remaining_for_installment, balance_after, workflow_id, actor, applied_at,
              completed_at, created_at) FROM STDIN`,
  allocations: `COPY payment_allocations (payment_id, installment_number, credit_id, amount, principal, interest,
                 remaining_for_installment) FROM STDIN`,
} as const;
type Table = keyof typeof COPY;

/** Buffered COPY writer that honours the stream's backpressure. */
class CopyWriter {
  private buf = '';
  private readonly stream;
  readonly done: Promise<void>;
  constructor(client: PoolClient, sql: string) {
    this.stream = client.query(copyFrom(sql));
    this.done = new Promise((resolve, reject) => {
      this.stream.on('finish', () => resolve());
      this.stream.on('error', reject);
    });
    this.done.catch(() => undefined);
  }
  add(s: string): Promise<void> | undefined {
    this.buf += s;
    if (this.buf.length < 1 << 18) return undefined;
    return this.flush();
  }
  private flush(): Promise<void> | undefined {
    const ok = this.stream.write(this.buf);
    this.buf = '';
    return ok ? undefined : (Promise.race([once(this.stream, 'drain'), this.done]) as Promise<unknown>).then(() => undefined);
  }
  async end(): Promise<void> {
    if (this.buf) await this.flush();
    this.stream.end();
    await this.done;
  }
}

/**
 * Seeds `ds` (migrated) with `opts.credits` credits of up to `opts.paymentsPerCredit` payments each, through COPY.
 * Uses connections of the DataSource's pool. Foreign-key checks are skipped (session_replication_role = replica)
 * where the role may do so — the rows are consistent by construction — else the tables load in FK order.
 */
export async function seedPortfolio(ds: DataSource, opts: SeedOptions): Promise<SeedResult> {
  const t0 = Date.now();
  const log = opts.log ?? (() => undefined);
  if (!Number.isSafeInteger(opts.credits) || opts.credits < 0) throw new Error('credits must be an integer ≥ 0');
  if (!Number.isSafeInteger(opts.paymentsPerCredit) || opts.paymentsPerCredit < 0) throw new Error('paymentsPerCredit must be an integer ≥ 0');
  const base = opts.baseDate ?? todayIn('UTC');
  const seed = opts.seed ?? 1;
  const rnd = prng(seed);
  const templateCount = Math.max(1, Math.min(opts.templates ?? 2000, opts.credits));
  const templates: Template[] = [];
  for (let t = 0; t < templateCount; t++) templates.push(buildTemplate(rnd, opts));
  log(`${templates.length} templates computed with the domain in ${Date.now() - t0} ms`);

  const driftCount = Math.min(opts.drift ?? 0, opts.credits);
  const driftEvery = driftCount > 0 ? Math.floor(opts.credits / driftCount) : 0;
  const clients = Math.max(1, Math.floor(opts.credits / 2));
  const clientPrefix = opts.clientPrefix ?? 'client-';
  const baseDay = daysBetween('1970-01-01', base);
  const dates = new Map<number, string>();
  const dateOf = (day: number): string => {
    let d = dates.get(day);
    if (d === undefined) {
      d = addDays('1970-01-01', day);
      dates.set(day, d);
    }
    return d;
  };
  // Every pass walks the same ids and draws.
  const creditIdSeq = idSequence();
  const paymentIdSeq = idSequence();

  const pool = (ds.driver as unknown as { master: Pool }).master;
  const probe = await pool.connect();
  let fkChecks = true;
  try {
    await probe.query(`SET session_replication_role = replica`);
    fkChecks = false;
  } catch {
    /* not a superuser: keep the checks and load in FK order */
  } finally {
    await probe.query(`RESET session_replication_role`).catch(() => undefined);
    probe.release();
  }
  const passes: Table[][] = fkChecks ? [['credits'], ['installments', 'payments'], ['allocations']] : [['credits', 'installments', 'payments', 'allocations']];

  const result: SeedResult = { credits: 0, installments: 0, payments: 0, allocations: 0, templates: templates.length, driftedCreditIds: [], firstCreditId: null, lastCreditId: null, fkChecks, ms: 0 };
  for (let pass = 0; pass < passes.length; pass++) {
    const tables = new Set(passes[pass]);
    const clientsByTable = new Map<Table, PoolClient>();
    const writers = new Map<Table, CopyWriter>();
    try {
      for (const t of tables) {
        const c = await pool.connect();
        clientsByTable.set(t, c);
        // One COPY is one long statement: no statement_timeout on these connections while they load.
        await c.query(`SET statement_timeout = 0`);
        if (!fkChecks) await c.query(`SET session_replication_role = replica`);
        writers.set(t, new CopyWriter(c, COPY[t]));
      }
      const cw = writers.get('credits');
      const iw = writers.get('installments');
      const pw = writers.get('payments');
      const aw = writers.get('allocations');
      const r = prng(seed ^ 0x5eed);
      const creditIds = creditIdSeq();
      const paymentIds = paymentIdSeq();
      for (let i = 0; i < opts.credits; i++) {
        const tpl = templates[i % templates.length];
        const creditId = creditIds();
        const elapsed = Math.floor(r() * (tpl.n * tpl.periodDays + 365));
        const client = Math.floor(r() * clients);
        const startDay = baseDay - elapsed;
        const start = dateOf(startDay);
        const drifted = driftEvery > 0 && i % driftEvery === 0 && i / driftEvery < driftCount;
        if (drifted && pass === 0) result.driftedCreditIds.push(creditId);
        const pending: Array<Promise<void> | undefined> = [];
        const count = tpl.payments.length;
        let lastPaymentDate = '\\N';
        for (let j = 0; j < count; j++) {
          const p = tpl.payments[j];
          const paymentId = paymentIds();
          const date = dateOf(startDay + Math.floor(((j + 1) * elapsed) / (count + 1)));
          lastPaymentDate = date;
          if (pw) {
            const ts = `${date} 12:00:00+00`;
            pending.push(pw.add(`${paymentId}\t${creditId}\tseed:${paymentId}\t${p.amount}\t${date}${p.tail}payment-${paymentId}\tseed\t${ts}\t${ts}\t${ts}\n`));
            result.payments++;
          }
          if (aw) {
            for (const a of p.allocations) {
              pending.push(aw.add(`${paymentId}${a.head}${creditId}${a.tail}`));
              result.allocations++;
            }
          }
        }
        if (cw) {
          const mid = drifted && tpl.creditMidDrift ? tpl.creditMidDrift : tpl.creditMid;
          pending.push(cw.add(`${creditId}\t${clientPrefix}${client}${tpl.creditHead}${start}${mid}${lastPaymentDate}${tpl.creditTail}`));
          result.credits++;
          if (result.firstCreditId === null) result.firstCreditId = creditId;
          result.lastCreditId = creditId;
        }
        if (iw) {
          for (let k = 0; k < tpl.n; k++) pending.push(iw.add(`${creditId}\t${k + 1}\t${dateOf(startDay + k * tpl.periodDays)}${tpl.installmentTails[k]}`));
          result.installments += tpl.n;
        }
        for (const w of pending) if (w) await w;
        if (i > 0 && i % 100_000 === 0) log(`pass ${pass + 1}/${passes.length}: ${i} credits in ${Math.round((Date.now() - t0) / 1000)} s`);
      }
      for (const w of writers.values()) await w.end();
    } catch (err) {
      // A connection still in COPY mode takes no other statement: drop them all, then report the first failure.
      for (const c of clientsByTable.values()) c.release(err as Error);
      clientsByTable.clear();
      throw err;
    } finally {
      for (const c of clientsByTable.values()) {
        await c.query(`RESET session_replication_role; RESET statement_timeout`).catch(() => undefined);
        c.release();
      }
    }
  }
  const analyze = await pool.connect();
  try {
    await analyze.query(`SET statement_timeout = 0`);
    // Loaded around the writer of new credits, which marks each: marked here, so the next INCREMENTAL night proves them.
    await analyze.query(MARK_UNVERIFIED);
    await analyze.query(`ANALYZE credits, credit_installments, payments, payment_allocations, credit_changes`);
    await analyze.query(`RESET statement_timeout`);
  } finally {
    analyze.release();
  }
  await ds.query(`INSERT INTO audit_log (action, actor, details) VALUES ('portfolio.seeded', 'seed', $1)`, [
    JSON.stringify({ credits: result.credits, payments: result.payments, drifted: result.driftedCreditIds.length, seed }),
  ]);
  result.ms = Date.now() - t0;
  return result;
}
