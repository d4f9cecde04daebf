import {
  CreditState,
  CreditStatus,
  CreditTerms,
  Decimal,
  Schedule,
  ScheduleType,
  formatMoney,
} from '../domain';

/** A credits row as pg returns it: NUMERIC and DATE as strings. */
export interface CreditRow {
  id: string;
  client_id: string;
  external_id: string | null;
  principal: string;
  interest_rate: string;
  installments: number;
  period_days: number;
  start_date: string;
  schedule_type: ScheduleType;
  status: CreditStatus;
  total_interest: string;
  total_amount: string;
  installment_amount: string;
  balance: string;
  total_paid: string;
  paid_installments: number;
  payment_count: number;
  last_payment_date: string | null;
  last_ledger_seq: number;
  created_at: Date;
  updated_at: Date;
}

export interface InstallmentRow {
  credit_id: string;
  number: number;
  due_date: string;
  amount: string;
  principal: string;
  interest: string;
  cumulative_due: string;
}

export function termsOf(row: CreditRow): CreditTerms {
  return {
    principal: new Decimal(row.principal),
    interestRate: new Decimal(row.interest_rate),
    installments: row.installments,
    periodDays: row.period_days,
    startDate: row.start_date,
    scheduleType: row.schedule_type,
  };
}

export function stateOf(row: CreditRow): CreditState {
  return {
    totalPaid: new Decimal(row.total_paid),
    balance: new Decimal(row.balance),
    paidInstallments: row.paid_installments,
    paymentCount: row.payment_count,
    lastPaymentDate: row.last_payment_date,
    status: row.status,
  };
}

export function scheduleOf(row: CreditRow, installments: InstallmentRow[]): Schedule {
  return {
    totalInterest: new Decimal(row.total_interest),
    totalAmount: new Decimal(row.total_amount),
    installmentAmount: new Decimal(row.installment_amount),
    installments: installments
      .slice()
      .sort((a, b) => a.number - b.number)
      .map((i) => ({
        number: i.number,
        dueDate: i.due_date,
        amount: new Decimal(i.amount),
        principal: new Decimal(i.principal),
        interest: new Decimal(i.interest),
        cumulativeDue: new Decimal(i.cumulative_due),
      })),
  };
}

/** Column values for a credit state, in the order the UPDATE below uses them. */
export function stateParams(s: CreditState): unknown[] {
  return [formatMoney(s.totalPaid), formatMoney(s.balance), s.paidInstallments, s.paymentCount, s.lastPaymentDate, s.status];
}

/**
 * A credit's state written for any number of credits in one statement (a single payment's one, a file's chunk's
 * many): from arrays in the order of `stateParams`, with the credit id first and the last ledger sequence number last.
 */
export const UPDATE_CREDITS_STATE = `
  UPDATE credits c SET total_paid = u.total_paid, balance = u.balance, paid_installments = u.paid_installments,
         payment_count = u.payment_count, last_payment_date = u.last_payment_date, status = u.status,
         last_ledger_seq = u.last_ledger_seq, updated_at = now()
    FROM unnest($1::uuid[], $2::numeric[], $3::numeric[], $4::int[], $5::int[], $6::date[], $7::text[], $8::int[])
         AS u(id, total_paid, balance, paid_installments, payment_count, last_payment_date, status, last_ledger_seq)
   WHERE c.id = u.id`;
