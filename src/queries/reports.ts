/**
 * Reports (DESIGN.md §3 "Derived figures as of a date", §5; issue 6): the portfolio with its arrears buckets and
 * the collections (payments) report.
 *
 * - Every figure is computed IN SQL from persisted columns, through the one SQL function `credit_figures`
 *   (migration 1732000000002-ReportFigures), used alike by the rows and by the totals. No per-credit or
 *   per-payment query: a JSON page costs 2 queries (rows, totals per bucket) and a CSV export 1 streamed query, whatever
 *   the portfolio's size.
 * - JSON pages use keyset pagination on the credit id (payments: on (payment_date, id)); the cursor is the last
 *   key signed with an HMAC under a per-installation key kept in the database (every API process shares it) and
 *   bound to the report's filters, so a cursor that was altered, or replayed with other filters, is refused.
 * - CSV streams every row through a server-side cursor (pg-query-stream, batches of CSV_BATCH rows) on one pooled
 *   connection, written with backpressure: memory stays flat whatever the size.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient } from 'pg';
import QueryStream from 'pg-query-stream';
import type { DataSource } from 'typeorm';
import { ARREARS_BUCKETS, ArrearsBucket as Bucket, CREDIT_STATUSES, Decimal, PAYMENT_STATUSES, PaymentStatus, formatMoney, sumMoney } from '../domain';
import { BUCKET_NAMES_JOIN } from '../db/arrears-sql';


export const MAX_PAGE = 1000;
export const DEFAULT_PAGE = 100;
const CSV_BATCH = 2000;
const CSV_CHUNK_CHARS = 64 * 1024;

// ---------------------------------------------------------------------------------------------------------------
// Cursors

const keys = new WeakMap<DataSource, Promise<Buffer>>();

/** The installation's cursor key (read once per process; one query the first time). */
export function reportCursorKey(ds: DataSource): Promise<Buffer> {
  let k = keys.get(ds);
  if (!k) {
    k = ds
      .query(`SELECT value FROM report_secrets WHERE name = 'cursor_hmac_key'`)
      .then((rows: Array<{ value: string }>) => {
        if (!rows[0]) throw new Error('report_secrets has no cursor_hmac_key: run the migrations');
        return Buffer.from(rows[0].value, 'utf8');
      });
    k.catch(() => keys.delete(ds));
    keys.set(ds, k);
  }
  return k;
}

function mac(key: Buffer, scope: string, payload: string): Buffer {
  return createHmac('sha256', key).update(`${scope}\n${payload}`).digest().subarray(0, 18);
}

/** `base64url(payload).base64url(hmac)`; `scope` names the report and its filters. */
export function signCursor(key: Buffer, scope: string, payload: string): string {
  return `${Buffer.from(payload, 'utf8').toString('base64url')}.${mac(key, scope, payload).toString('base64url')}`;
}

/** The payload of a cursor this installation signed for the same scope, or null. */
export function verifyCursor(key: Buffer, scope: string, token: string): string | null {
  const m = /^([A-Za-z0-9_-]{1,200})\.([A-Za-z0-9_-]{24})$/.exec(token);
  if (!m) return null;
  const payload = Buffer.from(m[1], 'base64url').toString('utf8');
  const given = Buffer.from(m[2], 'base64url');
  const want = mac(key, scope, payload);
  if (given.length !== want.length || !timingSafeEqual(given, want)) return null;
  return payload;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

// ---------------------------------------------------------------------------------------------------------------
// SQL: the one place the reports' as-of figures come from

/** The as-of figures of credit `c` at the date in parameter $1 (see the migration for the derivation). */
const FIGURES_JOIN = `CROSS JOIN LATERAL credit_figures(c.start_date, c.installments, c.period_days, c.installment_amount,
                                  c.total_amount, c.total_paid, c.paid_installments, $1::date) f`;


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
  c.id, c.client_id, c.status, c.schedule_type, c.principal, trim_scale(c.interest_rate)::text AS interest_rate,
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
  'id', 'clientId', 'status', 'scheduleType', 'principal', 'interestRate', 'installments', 'periodDays', 'startDate',
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

// ---------------------------------------------------------------------------------------------------------------
// Collections (payments) report

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

// ---------------------------------------------------------------------------------------------------------------
// CSV

/** RFC 4180 field: quoted when it holds a comma, a quote, CR or LF; quotes doubled. null → empty. */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(values: unknown[]): string {
  return values.map(csvField).join(',') + '\r\n';
}

/**
 * Runs `sql` through a server-side cursor on one connection of the DataSource's pool and writes CSV to `out`
 * with backpressure (pipeline awaits `out`'s drain before fetching the next batch).
 */
async function streamCsv(
  ds: DataSource,
  sql: string,
  params: unknown[],
  columns: string[],
  map: (row: Record<string, unknown>) => Record<string, unknown>,
  out: Writable,
): Promise<void> {
  const pool = (ds.driver as unknown as { master: Pool }).master;
  const client: PoolClient = await pool.connect();
  let failed: Error | undefined;
  try {
    const rows = client.query(new QueryStream(sql, params, { batchSize: CSV_BATCH, highWaterMark: CSV_BATCH }));
    await pipeline(
      rows,
      async function* (source: AsyncIterable<Record<string, unknown>>) {
        let chunk = csvLine(columns);
        for await (const row of source) {
          const obj = map(row);
          chunk += csvLine(columns.map((c) => obj[c]));
          if (chunk.length >= CSV_CHUNK_CHARS) {
            yield chunk;
            chunk = '';
          }
        }
        if (chunk) yield chunk;
      },
      out,
    );
  } catch (err) {
    failed = err as Error;
    throw err;
  } finally {
    // A connection whose cursor was cut off mid-way is not handed back to the pool.
    client.release(failed ? true : undefined);
  }
}
