import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { MAX_INSTALLMENTS, MAX_PERIOD_DAYS, MIN_INSTALLMENTS, MIN_PERIOD_DAYS, SCHEDULE_TYPES, isValidDate, parsePositiveMoney, parseRate } from '../domain';

extendZodWithOpenApi(z);

// Shapes only: the domain module decides what a valid amount, rate or term is, and the
// route hands these values to it. A field with the wrong shape stops here with its code.
const accepts = (parse: () => unknown): boolean => {
  try {
    parse();
    return true;
  } catch {
    return false;
  }
};

const money = (field: string) =>
  z
    .string({ error: `${field} must be a decimal string such as "150.00"` })
    .refine((v) => accepts(() => parsePositiveMoney(v, field)), {
      message: `${field} must be a plain decimal greater than 0, with at most 12 integer digits and 2 decimals`,
    })
    .openapi({ example: '150.00' });

const date = (field: string) =>
  z
    .string({ error: `${field} must be a YYYY-MM-DD string` })
    .refine(isValidDate, { message: `${field} must be a real date as YYYY-MM-DD` })
    .openapi({ example: '2026-11-23' });

export const uuid = z.string().uuid({ message: 'must be a UUID' });

// Text that people read later (client ids, references, reasons): no control characters (a
// reason may hold tabs and line breaks), no invisible or bidirectional-override characters that
// make one string look like another, no unpaired surrogates (not valid Unicode, and PostgreSQL
// refuses NUL outright). Everything else is stored verbatim.
// eslint-disable-next-line no-control-regex
const UNSAFE_TEXT = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// eslint-disable-next-line no-control-regex
const UNSAFE_MULTILINE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
export const isSafeText = (v: string, multiline = false): boolean => !(multiline ? UNSAFE_MULTILINE : UNSAFE_TEXT).test(v);
const safeText = (multiline = false) => (v: string) => isSafeText(v, multiline);
const SAFE_TEXT_MESSAGE = { message: 'must not contain control, invisible or bidirectional-override characters, or unpaired surrogates' };

/** The lender's own loan number: printable, no spaces at either end. */
export const externalId = z.string().refine(safeText(), SAFE_TEXT_MESSAGE).trim().min(1).max(100).openapi({ example: 'LN-2026-000123' });

export const CreateCreditBody = z
  .strictObject({
    clientId: z.string().refine(safeText(), SAFE_TEXT_MESSAGE).trim().min(1).max(100),
    principal: money('principal'),
    interestRate: z
      .string({ error: 'interestRate must be a decimal string such as "0.05"' })
      .refine((v) => accepts(() => parseRate(v)), { message: 'interestRate must be a plain decimal ≥ 0 with at most 10 decimals' })
      .openapi({ example: '0.05' }),
    installments: z.number().int().min(MIN_INSTALLMENTS).max(MAX_INSTALLMENTS),
    periodDays: z.number().int().min(MIN_PERIOD_DAYS).max(MAX_PERIOD_DAYS).optional(),
    startDate: date('startDate'),
    scheduleType: z.enum(SCHEDULE_TYPES).optional(),
    externalId: externalId.optional(),
  })
  .openapi('CreateCredit');

export const CreditsQuery = z.object({ externalId });

export const CreatePaymentBody = z
  .strictObject({
    creditId: uuid.openapi({ example: '7b0c1a9e-7f42-4a4e-9a57-2b2d2f0c9a11' }),
    amount: money('amount'),
    paymentDate: date('paymentDate').optional(),
    reference: z.string().max(200).refine(safeText(), SAFE_TEXT_MESSAGE).optional(),
  })
  .openapi('CreatePayment');

export const ReversalBody = z.strictObject({ reason: z.string().refine(safeText(true), SAFE_TEXT_MESSAGE).trim().min(1).max(500) }).openapi('Reversal');

export const AsOfQuery = z.object({ asOf: date('asOf').optional() });

export const AuditPageQuery = z.object({
  before: z.string().regex(/^[1-9]\d{0,18}$/, { message: 'before must be an audit entry id' }).optional().describe("the previous page's next"),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const IdempotencyKey = z
  .string({ error: 'the Idempotency-Key header is required' })
  .min(1, { message: 'the Idempotency-Key header is required' })
  .max(200, { message: 'the Idempotency-Key header is at most 200 characters' })
  .regex(/^[\x21-\x7e]+$/, { message: 'the Idempotency-Key header must be printable ASCII without spaces' });
