import type { DataSource } from 'typeorm';
import { Decimal, figuresAsOf, formatMoney, installmentProgress } from '../domain';
import { findCredit, findCreditByExternalId, loadSchedule } from '../db/credits';
import { CreditRow, stateOf, termsOf } from '../db/rows';
import { NotFoundError } from '../errors';

/** Credit views: the credit as of a date, its schedule with what is paid on each instalment. Read-only. */

async function requireCredit(ds: DataSource, id: string): Promise<CreditRow> {
  const credit = await findCredit(ds, id);
  if (!credit) throw new NotFoundError('CREDIT_NOT_FOUND', `credit ${id} does not exist`);
  return credit;
}

export function creditView(c: CreditRow) {
  return {
    id: c.id,
    clientId: c.client_id,
    externalId: c.external_id,
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

/** The credit, its persisted state and the figures as of a date (domain module). */
export async function getCreditAsOf(ds: DataSource, id: string, asOf: string) {
  const credit = await requireCredit(ds, id);
  const schedule = await loadSchedule(ds, credit);
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
  const schedule = await loadSchedule(ds, credit);
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

/** Credits by the lender's loan number (at most one: the column is unique). */
export async function findCreditsByExternalId(ds: DataSource, externalId: string) {
  const credit = await findCreditByExternalId(ds, externalId);
  return credit ? [creditView(credit)] : [];
}
