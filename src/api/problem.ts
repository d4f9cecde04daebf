import type { ErrorRequestHandler, Response } from 'express';
import { ZodError } from 'zod';
import { DomainError } from '../domain';
import { ConflictError, NotFoundError, UnavailableError } from '../errors';
import type { Logger } from '../logger';
import { scrubUrl } from './log-scrubbing';

export interface FieldProblem {
  field: string;
  code: string;
  detail: string;
}

export interface Problem {
  status: number;
  code: string;
  title: string;
  detail: string;
  errors?: FieldProblem[];
  [extra: string]: unknown;
}

/** RFC 9457 problem+json with abono's stable `code`. */
export function sendProblem(res: Response, p: Problem): void {
  const { status, code, title, detail, ...rest } = p;
  res
    .status(status)
    .type('application/problem+json')
    .json({ type: `https://abono.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`, title, status, detail, code, ...rest });
}

/** The HTTP status of a business refusal from the domain module. */
export function refusalStatus(code: string): number {
  if (code.endsWith('_NOT_FOUND')) return 404;
  if (code === 'AMOUNT_INVALID' || code === 'TERMS_INVALID' || code === 'DATE_INVALID') return 400;
  return 422;
}

// The stable code of a malformed field, by field name.
const fieldCodes: Record<string, string> = {
  amount: 'AMOUNT_INVALID',
  paymentDate: 'PAYMENT_DATE_INVALID',
  creditId: 'CREDIT_ID_INVALID',
  id: 'ID_INVALID',
  asOf: 'DATE_INVALID',
  'Idempotency-Key': 'IDEMPOTENCY_KEY_INVALID',
  principal: 'TERMS_INVALID',
  interestRate: 'TERMS_INVALID',
  installments: 'TERMS_INVALID',
  periodDays: 'TERMS_INVALID',
  startDate: 'TERMS_INVALID',
  scheduleType: 'TERMS_INVALID',
  reason: 'REASON_INVALID',
  reference: 'REFERENCE_INVALID',
  cursor: 'CURSOR_INVALID',
  limit: 'LIMIT_INVALID',
  format: 'FORMAT_INVALID',
  bucket: 'BUCKET_INVALID',
  status: 'STATUS_INVALID',
  clientId: 'CLIENT_ID_INVALID',
  from: 'DATE_INVALID',
  to: 'DATE_INVALID',
  olderThan: 'OLDER_THAN_INVALID',
  kind: 'KIND_INVALID',
};
const zodCode = (field: string, issue: string): string =>
  issue === 'unrecognized_keys' ? 'UNKNOWN_FIELD' : fieldCodes[field] ?? 'VALIDATION_FAILED';

/** Zod issues as field problems; the first one's code becomes the problem's code. */
export function validationProblem(err: ZodError): Problem {
  const errors: FieldProblem[] = err.issues.map((i) => {
    const field = i.path.join('.') || (i.code === 'unrecognized_keys' ? (i as { keys?: string[] }).keys?.join(',') ?? '' : '');
    return { field, code: zodCode(field, i.code), detail: i.message };
  });
  return { status: 400, code: errors[0]?.code ?? 'VALIDATION_FAILED', title: 'The request is not valid', detail: errors.map((e) => `${e.field || 'body'}: ${e.detail}`).join('; '), errors };
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) return;
    if (err instanceof ZodError) return sendProblem(res, validationProblem(err));
    if (err instanceof DomainError) {
      return sendProblem(res, {
        status: refusalStatus(err.code),
        code: err.code,
        title: 'The request was refused',
        detail: err.message,
        errors: err.field ? [{ field: err.field, code: err.code, detail: err.message }] : undefined,
        ...(err.meta ?? {}),
      });
    }
    if (err instanceof NotFoundError) return sendProblem(res, { status: 404, code: err.code, title: 'Not found', detail: err.message });
    if (err instanceof ConflictError) {
      return sendProblem(res, { status: 409, code: err.code, title: 'Conflict', detail: err.message, errors: err.field ? [{ field: err.field, code: err.code, detail: err.message }] : undefined });
    }
    if (err instanceof UnavailableError) {
      res.setHeader('Retry-After', '5');
      return sendProblem(res, { status: 503, code: err.code, title: 'Service unavailable', detail: err.message });
    }
    // body-parser errors carry a status and a type
    const status = typeof err?.status === 'number' ? err.status : 500;
    if (status === 400 && err.type === 'entity.parse.failed') return sendProblem(res, { status, code: 'MALFORMED_JSON', title: 'The body is not valid JSON', detail: 'the request body could not be parsed as JSON' });
    if (status === 413) return sendProblem(res, { status, code: 'BODY_TOO_LARGE', title: 'The body is too large', detail: 'the request body exceeds the limit' });
    if (status >= 400 && status < 500) return sendProblem(res, { status, code: 'BAD_REQUEST', title: 'Bad request', detail: String(err.message ?? 'bad request') });
    if (isDatabaseDown(err)) {
      res.setHeader('Retry-After', '5');
      return sendProblem(res, { status: 503, code: 'DATABASE_UNAVAILABLE', title: 'Service unavailable', detail: 'the database is unreachable; nothing was recorded' });
    }
    log.error({ err, path: scrubUrl(req.path) }, 'unhandled error');
    return sendProblem(res, { status: 500, code: 'INTERNAL', title: 'Internal error', detail: 'an unexpected error occurred; it has been logged' });
  };
}

function isDatabaseDown(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return ['ECONNREFUSED', 'ECONNRESET', '57P01', '57P03', '08006', '08001'].includes(e?.code ?? '') || /Connection terminated|timeout exceeded when trying to connect/.test(e?.message ?? '');
}
