import { Transform } from 'node:stream';
import { Request, Response, Router } from 'express';
import { z } from 'zod';
import { cancelBatch, reverseBatch, submitPaymentFile } from '../../client/payment-batches';
import { PAYMENT_FILE_FORMATS, PaymentFileError } from '../../files/payment-file';
import { getBatch, LINE_STATUSES, listBatches, listLines, streamLinesCsv } from '../../queries/payment-batch-views';
import type { ApiContext } from '../app';
import { actorOf, requireRole } from '../auth';
import { sendProblem } from '../problem';
import { IdempotencyKey, ReversalBody, uuid } from '../schemas';

export const UploadQuery = z.object({ mode: z.enum(['APPLY', 'DRY_RUN']).default('APPLY') });
export const BatchListQuery = z.object({
  before: uuid.optional().describe("the previous page's next: batches created before this one"),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
export const LinesQuery = z.object({
  status: z.enum(LINE_STATUSES).optional(),
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  format: z.enum(['json', 'csv'], { error: 'format must be json or csv' }).default('json'),
});

/** Counts the body's bytes as they pass and stops the file past the configured size. */
function sizeLimit(maxBytes: number): Transform {
  let bytes = 0;
  let lines = 1;
  return new Transform({
    transform(chunk: Buffer, _e, done) {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      if (bytes > maxBytes) return done(new PaymentFileError(lines, null, `the file is larger than ${maxBytes} bytes`, 'PAYMENT_FILE_TOO_LARGE'));
      done(null, chunk);
    },
  });
}

function fileProblem(res: Response, err: PaymentFileError) {
  const status = err.code === 'PAYMENT_FILE_TOO_LARGE' ? 413 : 400;
  const field = err.column ?? `line ${err.line}`;
  return sendProblem(res, { status, code: err.code, title: 'The payment file was refused; nothing was recorded', detail: err.message, line: err.line, column: err.column, errors: [{ field, code: err.code, detail: err.message }] });
}

/** POST /v1/payment-batches: the file, streamed into its batch; 202 with Location. */
async function postFile(ctx: ApiContext, req: Request, res: Response) {
  const format = PAYMENT_FILE_FORMATS[(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase() as keyof typeof PAYMENT_FILE_FORMATS];
  if (!format) return sendProblem(res, { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', title: 'CSV or NDJSON only', detail: 'send the file as text/csv (with a header row) or application/x-ndjson' });
  const key = IdempotencyKey.safeParse(req.headers['idempotency-key']);
  if (!key.success) {
    const code = req.headers['idempotency-key'] ? 'IDEMPOTENCY_KEY_INVALID' : 'IDEMPOTENCY_KEY_REQUIRED';
    const detail = key.error.issues[0].message;
    return sendProblem(res, { status: 400, code, title: 'The request is not valid', detail, errors: [{ field: 'Idempotency-Key', code, detail }] });
  }
  const { mode } = UploadQuery.parse(req.query);
  const body = req.pipe(sizeLimit(ctx.paymentBatches.maxBytes));
  req.on('error', (e) => body.destroy(e));
  try {
    const { batch, replayed } = await submitPaymentFile(ctx.paymentBatches, { key: key.data, format, mode, body, actor: actorOf(req) });
    res.status(replayed ? 200 : 202).location(`/v1/payment-batches/${batch.id}`).json(await getBatch(ctx.ds, ctx.paymentBatches, batch.id));
  } catch (err) {
    if (err instanceof PaymentFileError) {
      // The rest of the body is not read: the answer is final, and the connection closes after it.
      res.setHeader('Connection', 'close');
      return fileProblem(res, err);
    }
    throw err;
  }
}

export function paymentFileUpload(ctx: ApiContext): Router {
  const r = Router();
  r.post('/v1/payment-batches', requireRole(ctx.ds, 'operator'), (req, res) => postFile(ctx, req, res));
  return r;
}

export function paymentBatchRoutes(ctx: ApiContext): Router {
  const r = Router();
  const { ds } = ctx;

  r.get('/v1/payment-batches', requireRole(ds, 'viewer'), async (req, res) => {
    res.json(await listBatches(ds, ctx.paymentBatches, BatchListQuery.parse(req.query)));
  });

  r.get('/v1/payment-batches/:id', requireRole(ds, 'viewer'), async (req, res) => {
    res.json(await getBatch(ds, ctx.paymentBatches, uuid.parse(req.params.id)));
  });

  r.get('/v1/payment-batches/:id/lines', requireRole(ds, 'viewer'), async (req, res) => {
    const id = uuid.parse(req.params.id);
    const q = LinesQuery.parse(req.query);
    if (q.format === 'csv') {
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="payment-batch-${id}-${(q.status ?? 'all').toLowerCase()}.csv"`);
      return streamLinesCsv(ds, id, q.status, res);
    }
    res.json(await listLines(ds, id, q));
  });

  r.post('/v1/payment-batches/:id/reversal', requireRole(ds, 'operator'), async (req, res) => {
    const id = uuid.parse(req.params.id);
    const { reason } = ReversalBody.parse(req.body);
    const reversal = await reverseBatch(ctx.paymentBatches, id, reason, actorOf(req));
    res.status(202).location(`/v1/payment-batches/${reversal.id}`).json(await getBatch(ds, ctx.paymentBatches, reversal.id));
  });

  r.post('/v1/payment-batches/:id/cancellation', requireRole(ds, 'operator'), async (req, res) => {
    const id = uuid.parse(req.params.id);
    await cancelBatch(ctx.paymentBatches, id);
    res.status(202).location(`/v1/payment-batches/${id}`).json(await getBatch(ds, ctx.paymentBatches, id));
  });

  return r;
}
