/**
 * GET /v1/dashboard/summary: everything /dashboard shows, as of one date, in 4 SQL queries (run together) whatever
 * the portfolio's size, plus one visibility call to Temporal for the stuck operations. The figures come from the
 * same SQL function as the reports (`credit_figures`), so the page and /v1/reports/* agree by construction.
 */
import type { DataSource } from 'typeorm';
import { ARREARS_BUCKETS, Decimal, PAYMENT_STATUSES, sumMoney } from '../domain';
import { BUCKET_NAMES_JOIN, FIGURES_JOIN } from '../db/credit-figures-sql';
import { findStuckOperations, OperationsDeps } from './operations';
import { bookVerification } from './verification';

export const COLLECTION_DAYS = 30;
export const DASHBOARD_STUCK_AFTER_MS = 60_000;

type Row = Record<string, string | number | null>;

/** The portfolio's totals (the ROLLUP's grand total row) and one entry per arrears bucket. */
function portfolioView(portfolio: Row[]) {
  const grand = portfolio.find((r) => Number(r.is_total) === 1);
  const buckets = ARREARS_BUCKETS.map((b) => {
    const r = portfolio.find((x) => Number(x.is_total) === 0 && x.bucket === b);
    return { bucket: b, credits: r ? Number(r.credits) : 0, balance: r ? String(r.balance) : '0.00', overdueAmount: r ? String(r.overdue_amount) : '0.00' };
  });
  return {
    credits: grand ? Number(grand.credits) : 0,
    activeCredits: grand ? Number(grand.active) : 0,
    balance: grand ? String(grand.balance) : '0.00',
    totalPaid: grand ? String(grand.total_paid) : '0.00',
    overdueAmount: grand ? String(grand.overdue_amount) : '0.00',
    buckets,
  };
}

/** The dashboard shows the credits proven within this many days (the INCREMENTAL rolling window). */
const VERIFICATION_DAYS = 7;

const isoOrNull = (v: unknown) => (v ? new Date(v as string).toISOString() : null);

function recalculationView(last: Row) {
  return {
    id: String(last.id),
    mode: last.mode,
    status: last.status,
    scanned: Number(last.scanned),
    inconsistent: Number(last.inconsistent),
    corrected: Number(last.corrected),
    errors: Number(last.errors),
    startedAt: isoOrNull(last.started_at),
    finishedAt: isoOrNull(last.finished_at),
    durationMs: last.duration_ms != null ? Number(last.duration_ms) : null,
  };
}

/** `asOf` is today in the lender's `timeZone`; the outcome window starts at midnight there, 29 days before. */
export async function dashboardSummary(ds: DataSource, ops: OperationsDeps, asOf: string, timeZone: string) {
  const [portfolio, collections, outcomes, recalcs, stuck, verification] = await Promise.all([
    ds.query(
      `SELECT b.name AS bucket, GROUPING(b.name) AS is_total, count(*)::int AS credits,
              count(*) FILTER (WHERE c.status = 'ACTIVE')::int AS active,
              round(coalesce(sum(c.balance), 0), 2) AS balance, round(coalesce(sum(c.total_paid), 0), 2) AS total_paid,
              round(coalesce(sum(f.overdue_amount), 0), 2) AS overdue_amount
         FROM credits c
        ${FIGURES_JOIN}
        ${BUCKET_NAMES_JOIN}
        GROUP BY ROLLUP (b.name)`,
      [asOf],
    ) as Promise<Row[]>,
    ds.query(
      `SELECT d::date::text AS date, count(p.id)::int AS count, round(coalesce(sum(p.amount), 0), 2)::text AS amount
         FROM generate_series($1::date - ($2::int - 1), $1::date, interval '1 day') d
         LEFT JOIN payments p ON p.status = 'APPLIED' AND p.payment_date = d::date
        GROUP BY d ORDER BY d`,
      [asOf, COLLECTION_DAYS],
    ) as Promise<Row[]>,
    ds.query(
      `SELECT status, count(*)::int AS count FROM payments
        WHERE created_at >= ($1::date - ($2::int - 1))::timestamp AT TIME ZONE $3 GROUP BY status`,
      [asOf, COLLECTION_DAYS, timeZone],
    ) as Promise<Row[]>,
    ds.query(
      `SELECT id, mode, status, scanned, inconsistent, corrected, errors, started_at, finished_at, duration_ms
         FROM recalculation_runs ORDER BY started_at DESC LIMIT 1`,
    ) as Promise<Row[]>,
    findStuckOperations(ops, { olderThanMs: DASHBOARD_STUCK_AFTER_MS, limit: 20 }).catch((err: Error) => ({ error: err.message })),
    bookVerification(ds, VERIFICATION_DAYS),
  ]);

  const byStatus = Object.fromEntries(PAYMENT_STATUSES.map((s) => [s, 0])) as Record<string, number>;
  for (const o of outcomes) byStatus[String(o.status)] = Number(o.count);
  const terminal = byStatus.APPLIED + byStatus.REJECTED + byStatus.FAILED + byStatus.REVERSED;
  const rate = (n: number) => (terminal > 0 ? Math.round((n / terminal) * 10000) / 10000 : 0);
  const collected = sumMoney(collections.map((d) => new Decimal(String(d.amount))));
  const last = recalcs[0];
  return {
    asOf,
    portfolio: portfolioView(portfolio),
    collections: {
      from: String(collections[0]?.date ?? asOf),
      to: asOf,
      total: { count: collections.reduce((acc, d) => acc + Number(d.count), 0), amount: collected.toFixed(2) },
      days: collections.map((d) => ({ date: String(d.date), count: Number(d.count), amount: String(d.amount) })),
    },
    outcomes: {
      sinceDays: COLLECTION_DAYS,
      byStatus,
      terminal,
      failureRate: rate(byStatus.FAILED),
      rejectionRate: rate(byStatus.REJECTED),
    },
    lastRecalculation: last ? recalculationView(last) : null,
    verification,
    stuck,
  };
}
