import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { buildSchedule, figuresAsOf, formatMoney, installmentProgress, validateTerms, Decimal } from '../domain';
import { CreditRow, InstallmentRow, scheduleOf, stateOf, termsOf } from '../db/rows';
import { appendAudit } from './audit';
import { NotFoundError } from './errors';

export interface CreateCreditInput {
  clientId: string;
  principal: string;
  interestRate: string;
  installments: number;
  periodDays?: number;
  startDate: string;
  scheduleType?: 'FLAT' | 'DECLINING';
}

/** Creates a credit and stores its schedule, computed once by the domain module. */
export async function createCredit(ds: DataSource, input: CreateCreditInput, actor: string | null): Promise<string> {
  const terms = validateTerms(input);
  const schedule = buildSchedule(terms);
  const id = randomUUID();
  await ds.transaction(async (m) => {
    await m.query(
      `INSERT INTO credits (id, client_id, principal, interest_rate, installments, period_days, start_date, schedule_type,
                            status, total_interest, total_amount, installment_amount, balance, total_paid, created_by)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'ACTIVE',$9,$10,$11,$10,0,$12)`,
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
      details: { clientId: input.clientId, principal: formatMoney(terms.principal), interestRate: terms.interestRate.toFixed(), installments: terms.installments, scheduleType: terms.scheduleType, totalAmount: formatMoney(schedule.totalAmount) },
    });
  });
  return id;
}

export async function findCredit(m: EntityManager | DataSource, id: string): Promise<CreditRow | undefined> {
  const rows: CreditRow[] = await m.query(`SELECT * FROM credits WHERE id = $1`, [id]);
  return rows[0];
}

async function requireCredit(ds: DataSource, id: string): Promise<CreditRow> {
  const credit = await findCredit(ds, id);
  if (!credit) throw new NotFoundError('CREDIT_NOT_FOUND', `credit ${id} does not exist`);
  return credit;
}

export function creditView(c: CreditRow) {
  return {
    id: c.id,
    clientId: c.client_id,
    principal: c.principal,
    interestRate: new Decimal(c.interest_rate).toFixed(),
    installments: c.installments,
    periodDays: c.period_days,
    startDate: c.start_date,
    scheduleType: c.schedule_type,
    status: c.status,
    totalInterest: c.total_interest,
    totalAmount: c.total_amount,
    installmentAmount: c.installment_amount,
    balance: c.balance,
    totalPaid: c.total_paid,
    paidInstallments: c.paid_installments,
    paymentCount: c.payment_count,
    lastPaymentDate: c.last_payment_date,
    createdAt: c.created_at.toISOString(),
    updatedAt: c.updated_at.toISOString(),
  };
}

async function loadInstallments(ds: DataSource, id: string): Promise<InstallmentRow[]> {
  return ds.query(`SELECT * FROM credit_installments WHERE credit_id = $1 ORDER BY number`, [id]);
}

/** The credit, its persisted state and the figures as of a date (domain module). */
export async function getCreditAsOf(ds: DataSource, id: string, asOf: string) {
  const credit = await requireCredit(ds, id);
  const schedule = scheduleOf(credit, await loadInstallments(ds, id));
  const f = figuresAsOf(termsOf(credit), schedule, stateOf(credit), asOf);
  return {
    ...creditView(credit),
    asOf: {
      date: f.asOf,
      expectedInstallments: f.expectedInstallments,
      pendingInstallments: f.pendingInstallments,
      overdueInstallments: f.overdueInstallments,
      overdueAmount: formatMoney(f.overdueAmount),
      nextDueDate: f.nextDueDate,
      nextDueAmount: f.nextDueAmount ? formatMoney(f.nextDueAmount) : null,
      arrearsBucket: f.arrearsBucket,
    },
  };
}

/** Every instalment with what is paid on it and what remains, from the persisted totalPaid. */
export async function getSchedule(ds: DataSource, id: string) {
  const credit = await requireCredit(ds, id);
  const schedule = scheduleOf(credit, await loadInstallments(ds, id));
  return {
    creditId: id,
    totalAmount: credit.total_amount,
    totalPaid: credit.total_paid,
    installments: installmentProgress(schedule, new Decimal(credit.total_paid)).map(({ installment: i, paid, remaining, status }) => ({
      number: i.number,
      dueDate: i.dueDate,
      amount: formatMoney(i.amount),
      principal: formatMoney(i.principal),
      interest: formatMoney(i.interest),
      paid: formatMoney(paid),
      remaining: formatMoney(remaining),
      status,
    })),
  };
}
