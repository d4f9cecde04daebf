import type { Writable } from 'node:stream';
import type { DataSource } from 'typeorm';
import type { PaymentStatus } from '../domain';
import { streamCsv } from '../db/csv-stream';
import { DATE_RE, UUID_RE, reportCursorKey, signCursor, verifyCursor } from './report-cursors';

/**
 * The collections (payments) report: payments of one status in a date range, in (payment_date, id) keyset order,
 * with totals per day; or every row as streamed CSV. See portfolio-report.ts for how the reports are built.
 */

export interface PaymentsFilters {
  from: string;
  to: string;
  status: PaymentStatus;
}

interface PaymentDbRow {
  id: string;
  credit_id: string;
  client_id: string;
  payment_date: string;
  status: string;
  amount: string;
  principal_portion: string | null;
  interest_portion: string | null;
  installment_number: number | null;
  remaining_for_installment: string | null;
  balance_after: string | null;
  ledger_seq: number | null;
  reference: string | null;
}

export function paymentReportRow(r: PaymentDbRow) {
  return {
    id: r.id,
    creditId: r.credit_id,
    clientId: r.client_id,
    paymentDate: r.payment_date,
    status: r.status,
    amount: r.amount,
    principal: r.principal_portion,
    interest: r.interest_portion,
    installmentNumber: r.installment_number,
    remainingForInstallment: r.remaining_for_installment,
    balanceAfter: r.balance_after,
    ledgerSeq: r.ledger_seq,
    reference: r.reference,
  };
}
export type PaymentReportRow = ReturnType<typeof paymentReportRow>;
export const PAYMENTS_CSV_COLUMNS: ReadonlyArray<keyof PaymentReportRow> = [
  'id', 'creditId', 'clientId', 'paymentDate', 'status', 'amount', 'principal', 'interest', 'installmentNumber',
  'remainingForInstallment', 'balanceAfter', 'ledgerSeq', 'reference',
];

function paymentsRowsSql(q: PaymentsFilters, after?: { date: string; id: string }, limit?: number) {
  const params: unknown[] = [q.status, q.from, q.to];
  const where = [`p.status = $1`, `p.payment_date BETWEEN $2::date AND $3::date`];
  if (after) where.push(`(p.payment_date, p.id) > ($${params.push(after.date)}::date, $${params.push(after.id)}::uuid)`);
  const lim = limit !== undefined ? `LIMIT $${params.push(limit)}` : '';
  const sql = `
    SELECT p.id, p.credit_id, c.client_id, p.payment_date, p.status, p.amount, p.principal_portion, p.interest_portion,
           p.installment_number, p.remaining_for_installment, p.balance_after, p.ledger_seq, p.reference
      FROM payments p JOIN credits c ON c.id = p.credit_id
     WHERE ${where.join(' AND ')}
     ORDER BY p.payment_date, p.id ${lim}`;
  return { sql, params };
}

export function paymentsCursorScope(q: PaymentsFilters): string {
  return JSON.stringify(['payments', q.from, q.to, q.status]);
}

export function decodePaymentsCursor(key: Buffer, q: PaymentsFilters, token: string): { date: string; id: string } | null {
  const payload = verifyCursor(key, paymentsCursorScope(q), token);
  const m = payload === null ? null : /^(\d{4}-\d{2}-\d{2})\|(.+)$/.exec(payload);
  return m && DATE_RE.test(m[1]) && UUID_RE.test(m[2]) ? { date: m[1], id: m[2] } : null;
}

interface DayTotals {
  count: number;
  amount: string;
  principal: string;
  interest: string;
}

/** Payments in [from, to] of one status with their splits, totals per day and overall: 2 queries. */
export async function paymentsReport(ds: DataSource, q: PaymentsFilters & { limit: number; after?: { date: string; id: string } }) {
  const rowsQ = paymentsRowsSql(q, q.after, q.limit + 1);
  const [rows, days, key]: [PaymentDbRow[], Array<Record<string, string | number | null>>, Buffer] = await Promise.all([
    ds.query(rowsQ.sql, rowsQ.params),
    ds.query(
      `SELECT p.payment_date AS date, GROUPING(p.payment_date) AS is_total, count(*)::int AS count,
              round(coalesce(sum(p.amount), 0), 2) AS amount,
              round(coalesce(sum(p.principal_portion), 0), 2) AS principal,
              round(coalesce(sum(p.interest_portion), 0), 2) AS interest
         FROM payments p
        WHERE p.status = $1 AND p.payment_date BETWEEN $2::date AND $3::date
        GROUP BY ROLLUP (p.payment_date)
        ORDER BY is_total, p.payment_date`,
      [q.status, q.from, q.to],
    ),
    reportCursorKey(ds),
  ]);
  const more = rows.length > q.limit;
  const page = more ? rows.slice(0, q.limit) : rows;
  const totalsOf = (d: Record<string, string | number | null> | undefined): DayTotals => ({
    count: d ? Number(d.count) : 0,
    amount: d ? String(d.amount) : '0.00',
    principal: d ? String(d.principal) : '0.00',
    interest: d ? String(d.interest) : '0.00',
  });
  const last = page[page.length - 1];
  return {
    from: q.from,
    to: q.to,
    status: q.status,
    totals: totalsOf(days.find((d) => Number(d.is_total) === 1)),
    days: days.filter((d) => Number(d.is_total) === 0).map((d) => ({ date: String(d.date), ...totalsOf(d) })),
    limit: q.limit,
    rows: page.map(paymentReportRow),
    nextCursor: more ? signCursor(key, paymentsCursorScope(q), `${last.payment_date}|${last.id}`) : null,
  };
}

export async function streamPaymentsCsv(ds: DataSource, q: PaymentsFilters, out: Writable): Promise<void> {
  const { sql, params } = paymentsRowsSql(q);
  await streamCsv(ds, sql, params, PAYMENTS_CSV_COLUMNS as string[], (r) => paymentReportRow(r as unknown as PaymentDbRow), out);
}

