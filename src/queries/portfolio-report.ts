/**
 * Reports (DESIGN.md §3 "Derived figures as of a date", §5; issue 6): the portfolio with its arrears buckets and
 * the collections (payments) report (payments-report.ts).
 *
 * - Every figure is computed IN SQL from persisted columns, through the one SQL function `credit_figures`
 *   (migration 1732000000002-ReportFigures), used alike by the rows and by the totals. No per-credit or
 *   per-payment query: a JSON page costs 2 queries (rows, totals per bucket) and a CSV export 1 streamed query, whatever
 *   the portfolio's size.
 * - JSON pages use keyset pagination on the credit id (payments: on (payment_date, id)); the cursor is the last
 *   key signed with an HMAC under a per-installation key kept in the database (every API process shares it) and
 *   bound to the report's filters, so a cursor that was altered, or replayed with other filters, is refused.
 * - CSV streams every row through a server-side cursor (db/csv-stream.ts) on one pooled
 *   connection, written with backpressure: memory stays flat whatever the size.
 */
import type { Writable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { ARREARS_BUCKETS, ArrearsBucket as Bucket, CREDIT_STATUSES, Decimal, formatMoney, sumMoney } from '../domain';
import { BUCKET_NAMES_JOIN, FIGURES_JOIN } from '../db/credit-figures-sql';
import { streamCsv } from '../db/csv-stream';
import { UUID_RE, reportCursorKey, signCursor, verifyCursor } from './report-cursors';

export const MAX_PAGE = 1000;
export const DEFAULT_PAGE = 100;

// ---------------------------------------------------------------------------------------------------------------
// SQL: the one place the reports' as-of figures come from




export interface PortfolioFilters {
  asOf: string;
  status?: (typeof CREDIT_STATUSES)[number];
  bucket?: Bucket;
  clientId?: string;
}

function portfolioWhere(q: PortfolioFilters): { where: string[]; params: unknown[] } {
  const params: unknown[] = [q.asOf];
  const where: string[] = [];
  if (q.status) where.push(`c.status = $${params.push(q.status)}`);
  if (q.clientId) where.push(`c.client_id = $${params.push(q.clientId)}`);
  if (q.bucket) where.push(`f.arrears_bucket = $${params.push(q.bucket)}`);
  return { where, params };
}

const PORTFOLIO_COLUMNS = `
  c.id, c.client_id, c.external_id, c.status, c.schedule_type, c.principal, trim_scale(c.interest_rate)::text AS interest_rate,
  c.installments, c.period_days, c.start_date, c.total_amount, c.installment_amount, c.total_paid, c.balance,
  c.paid_installments, c.payment_count, c.last_payment_date,
  f.expected_installments, f.pending_installments, f.overdue_installments, f.overdue_amount,
  f.next_due_date, f.next_due_amount, f.arrears_bucket`;

function portfolioRowsSql(q: PortfolioFilters, after?: string, limit?: number): { sql: string; params: unknown[] } {
  const { where, params } = portfolioWhere(q);
  if (after) where.push(`c.id > $${params.push(after)}::uuid`);
  const lim = limit !== undefined ? `LIMIT $${params.push(limit)}` : '';
  const sql = `SELECT ${PORTFOLIO_COLUMNS} FROM credits c ${FIGURES_JOIN}
               ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY c.id ${lim}`;
  return { sql, params };
}

function portfolioTotalsSql(q: PortfolioFilters): { sql: string; params: unknown[] } {
  const { where, params } = portfolioWhere(q);
  // One row per arrears bucket; the grand total is their sum (exact, decimal.js). A plain GROUP BY, unlike ROLLUP,
  // lets PostgreSQL aggregate in parallel workers.
  const sql = `
    SELECT b.name AS bucket, count(*)::int AS credits,
           round(coalesce(sum(c.principal), 0), 2) AS principal, round(coalesce(sum(c.total_amount), 0), 2) AS total_amount,
           round(coalesce(sum(c.total_paid), 0), 2) AS total_paid, round(coalesce(sum(c.balance), 0), 2) AS balance,
           round(coalesce(sum(f.overdue_amount), 0), 2) AS overdue_amount
      FROM credits c ${FIGURES_JOIN}
      ${BUCKET_NAMES_JOIN}
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     GROUP BY b.name`;
  return { sql, params };
}

// ---------------------------------------------------------------------------------------------------------------
// Portfolio

interface PortfolioDbRow {
  id: string;
  client_id: string;
  external_id: string | null;
  status: string;
  schedule_type: string;
  principal: string;
  interest_rate: string;
  installments: number;
  period_days: number;
  start_date: string;
  total_amount: string;
  installment_amount: string;
  total_paid: string;
  balance: string;
  paid_installments: number;
  payment_count: number;
  last_payment_date: string | null;
  expected_installments: number;
  pending_installments: number;
  overdue_installments: number;
  overdue_amount: string;
  next_due_date: string | null;
  next_due_amount: string | null;
  arrears_bucket: Bucket;
}

/** One portfolio row: the same object in JSON and, column by column, in CSV. */
export function portfolioRow(r: PortfolioDbRow) {
  return {
    id: r.id,
    clientId: r.client_id,
    externalId: r.external_id,
    status: r.status,
    scheduleType: r.schedule_type,
    principal: r.principal,
    interestRate: r.interest_rate,
    installments: r.installments,
    periodDays: r.period_days,
    startDate: r.start_date,
    totalAmount: r.total_amount,
    installmentAmount: r.installment_amount,
    totalPaid: r.total_paid,
    balance: r.balance,
    paidInstallments: r.paid_installments,
    paymentCount: r.payment_count,
    lastPaymentDate: r.last_payment_date,
    expectedInstallments: r.expected_installments,
    pendingInstallments: r.pending_installments,
    overdueInstallments: r.overdue_installments,
    overdueAmount: r.overdue_amount,
    nextDueDate: r.next_due_date,
    nextDueAmount: r.next_due_amount,
    arrearsBucket: r.arrears_bucket,
  };
}
export type PortfolioRow = ReturnType<typeof portfolioRow>;
export const PORTFOLIO_CSV_COLUMNS: ReadonlyArray<keyof PortfolioRow> = [
  'id', 'clientId', 'externalId', 'status', 'scheduleType', 'principal', 'interestRate', 'installments', 'periodDays', 'startDate',
  'totalAmount', 'installmentAmount', 'totalPaid', 'balance', 'paidInstallments', 'paymentCount', 'lastPaymentDate',
  'expectedInstallments', 'pendingInstallments', 'overdueInstallments', 'overdueAmount', 'nextDueDate', 'nextDueAmount',
  'arrearsBucket',
];

/** The scope a portfolio cursor is signed for: the report and its filters (not the page size). */
export function portfolioCursorScope(q: PortfolioFilters): string {
  return JSON.stringify(['portfolio', q.asOf, q.status ?? null, q.bucket ?? null, q.clientId ?? null]);
}

/** Decodes a portfolio cursor: the last credit id of the previous page, or null when it is not valid. */
export function decodePortfolioCursor(key: Buffer, q: PortfolioFilters, token: string): string | null {
  const payload = verifyCursor(key, portfolioCursorScope(q), token);
  return payload !== null && UUID_RE.test(payload) ? payload : null;
}

export interface BucketTotals {
  count: number;
  /** Σ overdue amount of the credits in the bucket. */
  amount: string;
  /** Σ outstanding balance of the credits in the bucket. */
  balance: string;
}

/** Totals, arrears buckets and one keyset page of rows: 2 queries whatever the size. */
export async function portfolioReport(ds: DataSource, q: PortfolioFilters & { limit: number; after?: string }) {
  const rowsQ = portfolioRowsSql(q, q.after, q.limit + 1);
  const totalsQ = portfolioTotalsSql(q);
  const [rows, totals, key]: [PortfolioDbRow[], Array<Record<string, string | number>>, Buffer] = await Promise.all([
    ds.query(rowsQ.sql, rowsQ.params),
    ds.query(totalsQ.sql, totalsQ.params),
    reportCursorKey(ds),
  ]);
  const more = rows.length > q.limit;
  const page = more ? rows.slice(0, q.limit) : rows;
  const byBucket = new Map(totals.map((t) => [String(t.bucket), t]));
  const buckets = Object.fromEntries(
    ARREARS_BUCKETS.map((b) => {
      const t = byBucket.get(b);
      return [b, { count: t ? Number(t.credits) : 0, amount: t ? String(t.overdue_amount) : '0.00', balance: t ? String(t.balance) : '0.00' } satisfies BucketTotals];
    }),
  ) as Record<Bucket, BucketTotals>;
  const sum = (col: string) => formatMoney(sumMoney(totals.map((t) => new Decimal(String(t[col])))));
  return {
    asOf: q.asOf,
    filters: { status: q.status ?? null, bucket: q.bucket ?? null, clientId: q.clientId ?? null },
    totals: {
      credits: totals.reduce((n, t) => n + Number(t.credits), 0),
      principal: sum('principal'),
      totalAmount: sum('total_amount'),
      totalPaid: sum('total_paid'),
      balance: sum('balance'),
      overdueAmount: sum('overdue_amount'),
      buckets,
    },
    limit: q.limit,
    rows: page.map(portfolioRow),
    nextCursor: more ? signCursor(key, portfolioCursorScope(q), page[page.length - 1].id) : null,
  };
}

/** Every row of the portfolio as CSV (header first), streamed from one server-side cursor. */
export async function streamPortfolioCsv(ds: DataSource, q: PortfolioFilters, out: Writable): Promise<void> {
  const { sql, params } = portfolioRowsSql(q);
  await streamCsv(ds, sql, params, PORTFOLIO_CSV_COLUMNS as string[], (r) => portfolioRow(r as unknown as PortfolioDbRow), out);
}

