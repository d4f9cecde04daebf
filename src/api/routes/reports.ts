import { Request, Response, Router } from 'express';
import { z, ZodError } from 'zod';
import { ARREARS_BUCKETS, CREDIT_STATUSES, PAYMENT_STATUSES, daysBetween, isValidDate, todayIn } from '../../domain';
import { DEFAULT_PAGE, MAX_PAGE, decodePortfolioCursor, portfolioReport, streamPortfolioCsv } from '../../queries/portfolio-report';
import { decodePaymentsCursor, paymentsReport, streamPaymentsCsv } from '../../queries/payments-report';
import { reportCursorKey } from '../../queries/report-cursors';
import type { ApiContext } from '../app';
import { requireRole } from '../auth';

/** Longest date range of the collections report, in days. */
export const MAX_PAYMENTS_RANGE_DAYS = 366;

const date = (field: string) =>
  z
    .string({ error: `${field} must be a YYYY-MM-DD string` })
    .refine(isValidDate, { message: `${field} must be a real date as YYYY-MM-DD` });

const limit = z
  .string()
  .regex(/^\d{1,7}$/, { message: `limit must be an integer from 1 to ${MAX_PAGE}` })
  .transform(Number)
  .pipe(z.number().int().min(1, { message: `limit must be at least 1` }).max(MAX_PAGE, { message: `limit must be at most ${MAX_PAGE}` }));

const format = z.enum(['json', 'csv'], { error: 'format must be json or csv' });
const cursor = z.string().max(400, { message: 'cursor is not valid' });

// `bucket=4+` arrives as "4 " (a '+' in a query string is a space); accept it as the '4+' it was meant to be.
const LAST_BUCKET = ARREARS_BUCKETS[ARREARS_BUCKETS.length - 1];
const bucket = z.preprocess(
  (v) => (v === LAST_BUCKET.replace('+', ' ') ? LAST_BUCKET : v),
  z.enum(ARREARS_BUCKETS, { error: `bucket must be one of ${ARREARS_BUCKETS.join(', ')} (write ${LAST_BUCKET.replace('+', '%2B')})` }),
);

export const PortfolioQuery = z.strictObject({
  asOf: date('asOf').optional(),
  status: z.enum(CREDIT_STATUSES, { error: `status must be ${CREDIT_STATUSES.join(' or ')}` }).optional(),
  bucket: bucket.optional(),
  clientId: z.string().trim().min(1).max(100).optional(),
  limit: limit.optional(),
  cursor: cursor.optional(),
  format: format.optional(),
});

export const PaymentsReportQuery = z
  .strictObject({
    from: date('from'),
    to: date('to'),
    status: z.enum(PAYMENT_STATUSES, { error: `status must be one of ${PAYMENT_STATUSES.join(', ')}` }).optional(),
    limit: limit.optional(),
    cursor: cursor.optional(),
    format: format.optional(),
  })
  .superRefine((q, ctx) => {
    if (isValidDate(q.from) && isValidDate(q.to)) {
      const span = daysBetween(q.from, q.to);
      if (span < 0) ctx.addIssue({ code: 'custom', path: ['to'], message: 'to must not be before from' });
      else if (span >= MAX_PAYMENTS_RANGE_DAYS) ctx.addIssue({ code: 'custom', path: ['to'], message: `the range is at most ${MAX_PAYMENTS_RANGE_DAYS} days` });
    }
  });

/** A cursor that this installation did not sign for these filters: 400 on the `cursor` field. */
function badCursor(value: string): ZodError {
  return new ZodError([
    { code: 'custom', path: ['cursor'], message: 'cursor is not valid for this report: it was altered, or the filters changed', input: value },
  ]);
}

function csvHeaders(res: Response, name: string) {
  res.status(200);
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${name}.csv"`);
  res.setHeader('Cache-Control', 'no-store');
}

/** Streams CSV; a failure after the first byte can only cut the response (the error is logged). */
async function sendCsv(ctx: ApiContext, req: Request, res: Response, run: () => Promise<void>) {
  try {
    await run();
  } catch (err) {
    if (!res.headersSent) {
      res.removeHeader('Content-Disposition');
      throw err;
    }
    const code = (err as { code?: string }).code;
    if (code !== 'ERR_STREAM_PREMATURE_CLOSE') ctx.log.error({ err, path: req.path }, 'CSV export failed mid-stream');
    res.destroy();
  }
}

export function reportRoutes(ctx: ApiContext): Router {
  const r = Router();
  const { ds } = ctx;

  r.get('/v1/reports/portfolio', requireRole(ds, 'viewer'), async (req, res) => {
    const q = PortfolioQuery.parse(req.query);
    const filters = { asOf: q.asOf ?? todayIn(ctx.timeZone), status: q.status, bucket: q.bucket, clientId: q.clientId };
    if ((q.format ?? 'json') === 'csv') {
      csvHeaders(res, `portfolio-${filters.asOf}`);
      return sendCsv(ctx, req, res, () => streamPortfolioCsv(ds, filters, res));
    }
    let after: string | undefined;
    if (q.cursor !== undefined) {
      after = decodePortfolioCursor(await reportCursorKey(ds), filters, q.cursor) ?? undefined;
      if (!after) throw badCursor(q.cursor);
    }
    res.json(await portfolioReport(ds, { ...filters, limit: q.limit ?? DEFAULT_PAGE, after }));
  });

  r.get('/v1/reports/payments', requireRole(ds, 'viewer'), async (req, res) => {
    const q = PaymentsReportQuery.parse(req.query);
    const filters = { from: q.from, to: q.to, status: q.status ?? 'APPLIED' };
    if ((q.format ?? 'json') === 'csv') {
      csvHeaders(res, `payments-${filters.from}-${filters.to}`);
      return sendCsv(ctx, req, res, () => streamPaymentsCsv(ds, filters, res));
    }
    let after: { date: string; id: string } | undefined;
    if (q.cursor !== undefined) {
      after = decodePaymentsCursor(await reportCursorKey(ds), filters, q.cursor) ?? undefined;
      if (!after) throw badCursor(q.cursor);
    }
    res.json(await paymentsReport(ds, { ...filters, limit: q.limit ?? DEFAULT_PAGE, after }));
  });

  return r;
}
