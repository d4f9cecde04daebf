import { rowsFrom, Statement } from './statement';
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

/** Column values for a credit state, in the order updateCreditsState uses them. */
export function stateParams(s: CreditState): unknown[] {
  return [formatMoney(s.totalPaid), formatMoney(s.balance), s.paidInstallments, s.paymentCount, s.lastPaymentDate, s.status];
}

/** A credit's state written for one credit (a single payment) or many (a file's chunk) in one statement. */
export function updateCreditsState(states: Array<{ creditId: string; state: CreditState; lastSeq: number }>): Statement {
  const params = states.map((s) => stateParams(s.state));
  const col = (i: number) => params.map((p) => p[i]);
  const from = rowsFrom([
    ['id', 'uuid', states.map((s) => s.creditId)],
    ['total_paid', 'numeric', col(0)],
    ['balance', 'numeric', col(1)],
    ['paid_installments', 'int', col(2)],
    ['payment_count', 'int', col(3)],
    ['last_payment_date', 'date', col(4)],
    ['status', 'text', col(5)],
    ['last_ledger_seq', 'int', states.map((s) => s.lastSeq)],
  ]);
  return {
    sql: `UPDATE credits c SET total_paid = u.total_paid, balance = u.balance, paid_installments = u.paid_installments,
                 payment_count = u.payment_count, last_payment_date = u.last_payment_date, status = u.status,
                 last_ledger_seq = u.last_ledger_seq, updated_at = now()
            FROM ${from.sql} WHERE c.id = u.id`,
    params: from.params,
  };
}
