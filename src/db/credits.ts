import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { CreditTerms, Schedule, ScheduleType, buildSchedule, formatMoney, validateTerms } from '../domain';
import { CreditRow, InstallmentRow, scheduleOf } from './rows';
import { appendAudit } from './audit';
import { Columns, copyRows, rowsFrom } from './statement';
import { ConflictError } from '../errors';
import { markManyChanged } from './verification-marks';

export interface CreateCreditInput {
  clientId: string;
  principal: string;
  interestRate: string;
  installments: number;
  periodDays?: number;
  startDate: string;
  scheduleType?: ScheduleType;
  /** The lender's own loan number (unique). */
  externalId?: string;
}

/** A credit about to be created: its id, what was asked, and the terms and schedule the domain computed from it. */
export interface NewCredit {
  id: string;
  input: CreateCreditInput;
  terms: CreditTerms;
  schedule: Schedule;
}

/** A new credit's row (ACTIVE, nothing paid) and its schedule's rows, by column. */
function creditColumns(credits: NewCredit[], actor: string | null): Columns {
  const col = <T>(f: (c: NewCredit) => T) => credits.map(f);
  const totals = col((c) => formatMoney(c.schedule.totalAmount));
  return [
    ['id', 'uuid', col((c) => c.id)],
    ['client_id', 'text', col((c) => c.input.clientId)],
    ['principal', 'numeric', col((c) => formatMoney(c.terms.principal))],
    ['interest_rate', 'numeric', col((c) => c.terms.interestRate.toFixed())],
    ['installments', 'int', col((c) => c.terms.installments)],
    ['period_days', 'int', col((c) => c.terms.periodDays)],
    ['start_date', 'date', col((c) => c.terms.startDate)],
    ['schedule_type', 'text', col((c) => c.terms.scheduleType)],
    ['status', 'text', col(() => 'ACTIVE')],
    ['total_interest', 'numeric', col((c) => formatMoney(c.schedule.totalInterest))],
    ['total_amount', 'numeric', totals],
    ['installment_amount', 'numeric', col((c) => formatMoney(c.schedule.installmentAmount))],
    ['balance', 'numeric', totals],
    ['total_paid', 'numeric', col(() => '0')],
    ['created_by', 'text', col(() => actor)],
    ['external_id', 'text', col((c) => c.input.externalId ?? null)],
  ];
}

function installmentColumns(credits: NewCredit[]): Columns {
  const rows = credits.flatMap((c) => c.schedule.installments.map((i) => ({ id: c.id, i })));
  return [
    ['credit_id', 'uuid', rows.map((r) => r.id)],
    ['number', 'int', rows.map((r) => r.i.number)],
    ['due_date', 'date', rows.map((r) => r.i.dueDate)],
    ['amount', 'numeric', rows.map((r) => formatMoney(r.i.amount))],
    ['principal', 'numeric', rows.map((r) => formatMoney(r.i.principal))],
    ['interest', 'numeric', rows.map((r) => formatMoney(r.i.interest))],
    ['cumulative_due', 'numeric', rows.map((r) => formatMoney(r.i.cumulativeDue))],
  ];
}

/**
 * Inserts credits (ACTIVE, nothing paid) and their schedules: the one writer of new credit rows (a single creation,
 * an import's chunk), which marks each changed. Two statements for any number of them, or (`via: 'copy'`, an import's thousands) COPY. The
 * caller holds the transaction and writes the audit entry that describes each.
 */
export async function insertCredits(m: EntityManager, credits: NewCredit[], actor: string | null, via: 'statement' | 'copy' = 'statement'): Promise<void> {
  if (credits.length === 0) return;
  for (const [table, columns] of [['credits', creditColumns(credits, actor)], ['credit_installments', installmentColumns(credits)]] as const) {
    if (via === 'copy') {
      await copyRows(m, table, columns);
    } else {
      const from = rowsFrom(columns);
      await m.query(`INSERT INTO ${table} (${columns.map(([c]) => c).join(', ')}) SELECT * FROM ${from.sql}`, from.params);
    }
  }
  // A new credit is changed since its last verification (it has none): the next INCREMENTAL night proves it.
  const mark = markManyChanged(credits.map((c) => c.id));
  await m.query(mark.sql, mark.params);
}

/** Creates a credit and stores its schedule, computed once by the domain module. */
export async function createCredit(ds: DataSource, input: CreateCreditInput, actor: string | null): Promise<string> {
  const terms = validateTerms(input);
  const schedule = buildSchedule(terms);
  const id = randomUUID();
  await ds.transaction(async (m) => {
    await insertCredits(m, [{ id, input, terms, schedule }], actor);
    await appendAudit(m, {
      action: 'credit.created',
      creditId: id,
      actor,
      details: { clientId: input.clientId, externalId: input.externalId ?? null, principal: formatMoney(terms.principal), interestRate: terms.interestRate.toFixed(), installments: terms.installments, scheduleType: terms.scheduleType, totalAmount: formatMoney(schedule.totalAmount) },
    });
  }).catch((err: { code?: string; constraint?: string }) => {
    if (err.code === '23505' && err.constraint === 'credits_external_id_idx') {
      throw new ConflictError('CREDIT_EXTERNAL_ID_TAKEN', `a credit with externalId ${input.externalId} exists`, 'externalId');
    }
    throw err;
  });
  return id;
}

/** The credit the lender knows by its own loan number. */
export async function findCreditByExternalId(m: Pick<EntityManager, 'query'>, externalId: string): Promise<CreditRow | undefined> {
  const rows: CreditRow[] = await m.query(`SELECT * FROM credits WHERE external_id = $1`, [externalId]);
  return rows[0];
}

export async function findCredit(m: EntityManager | DataSource, id: string): Promise<CreditRow | undefined> {
  const rows: CreditRow[] = await m.query(`SELECT * FROM credits WHERE id = $1`, [id]);
  return rows[0];
}

// Schedules never change after creation, so a process may keep them (the oldest goes first past the limit). A
// schedule of 24 instalments as Decimals takes about 25 KB, so the limit bounds the cache near 50 MB.
const scheduleCache = new Map<string, Schedule>();
const SCHEDULE_CACHE_MAX_CREDITS = 2_000;

/** The credit's stored schedule: the one schedule loader. */
export async function loadSchedule(m: Pick<EntityManager, 'query'>, credit: CreditRow): Promise<Schedule> {
  const cached = scheduleCache.get(credit.id);
  if (cached) return cached;
  const rows: InstallmentRow[] = await m.query(`SELECT * FROM credit_installments WHERE credit_id = $1 ORDER BY number`, [credit.id]);
  const schedule = scheduleOf(credit, rows);
  if (scheduleCache.size >= SCHEDULE_CACHE_MAX_CREDITS) scheduleCache.delete(scheduleCache.keys().next().value!);
  scheduleCache.set(credit.id, schedule);
  return schedule;
}

/**
 * The stored schedules of many credits in one query (a file's chunk). Cached ones are used, but these are not
 * added to the cache: a file names each credit in one chunk only, and a file's hundreds of thousands of credits
 * would only push out the schedules single payments keep using.
 */
export async function loadSchedules(m: Pick<EntityManager, 'query'>, credits: CreditRow[]): Promise<Map<string, Schedule>> {
  const out = new Map<string, Schedule>();
  const missing = credits.filter((c) => {
    const cached = scheduleCache.get(c.id);
    if (cached) out.set(c.id, cached);
    return !cached;
  });
  if (missing.length === 0) return out;
  const rows: InstallmentRow[] = await m.query(`SELECT * FROM credit_installments WHERE credit_id = ANY($1::uuid[]) ORDER BY credit_id, number`, [missing.map((c) => c.id)]);
  const byCredit = new Map<string, InstallmentRow[]>();
  for (const r of rows) (byCredit.get(r.credit_id) ?? byCredit.set(r.credit_id, []).get(r.credit_id)!).push(r);
  for (const c of missing) out.set(c.id, scheduleOf(c, byCredit.get(c.id) ?? []));
  return out;
}
