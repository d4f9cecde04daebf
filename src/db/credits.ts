import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { Schedule, ScheduleType, buildSchedule, formatMoney, validateTerms } from '../domain';
import { CreditRow, InstallmentRow, scheduleOf } from './rows';
import { appendAudit } from './audit';
import { ConflictError } from '../errors';

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

/** Creates a credit and stores its schedule, computed once by the domain module. */
export async function createCredit(ds: DataSource, input: CreateCreditInput, actor: string | null): Promise<string> {
  const terms = validateTerms(input);
  const schedule = buildSchedule(terms);
  const id = randomUUID();
  await ds.transaction(async (m) => {
    await m.query(
      `INSERT INTO credits (id, client_id, principal, interest_rate, installments, period_days, start_date, schedule_type,
                            status, total_interest, total_amount, installment_amount, balance, total_paid, created_by, external_id)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'ACTIVE',$9,$10,$11,$10,0,$12,$13)`,
      [
        id,
        input.clientId,
        formatMoney(terms.principal),
        terms.interestRate.toFixed(),
        terms.installments,
        terms.periodDays,
        terms.startDate,
        terms.scheduleType,
        formatMoney(schedule.totalInterest),
        formatMoney(schedule.totalAmount),
        formatMoney(schedule.installmentAmount),
        actor,
        input.externalId ?? null,
      ],
    );
    const rows = schedule.installments;
    await m.query(
      `INSERT INTO credit_installments (credit_id, number, due_date, amount, principal, interest, cumulative_due)
       SELECT $1, * FROM unnest($2::int[], $3::date[], $4::numeric[], $5::numeric[], $6::numeric[], $7::numeric[])`,
      [
        id,
        rows.map((i) => i.number),
        rows.map((i) => i.dueDate),
        rows.map((i) => formatMoney(i.amount)),
        rows.map((i) => formatMoney(i.principal)),
        rows.map((i) => formatMoney(i.interest)),
        rows.map((i) => formatMoney(i.cumulativeDue)),
      ],
    );
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
