import { z } from 'zod';
import { LINE_STATUSES } from '../queries/payment-batch-views';
import './schemas'; // extends zod with .openapi()

/**
 * The shapes of the answers the OpenAPI document describes, for the views whose fields a client builds on: a
 * credit (with its externalId), a payment batch and its lines, a credit's audit trail. Documentation only: the
 * queries shape the answers, and the OpenAPI test parses real answers with these (strictly), so they cannot drift.
 */
const money = z.string().openapi({ example: '150.00' });
const nullable = <T extends z.ZodType>(t: T) => t.nullable();

export const CreditView = z
  .strictObject({
    id: z.string().uuid(),
    clientId: z.string(),
    externalId: nullable(z.string()).openapi({ description: "the lender's own loan number (unique), or null", example: 'LN-2026-000123' }),
    principal: money,
    interestRate: z.string(),
    installments: z.number().int(),
    periodDays: z.number().int(),
    startDate: z.string(),
    scheduleType: z.string(),
    status: z.string(),
    totalInterest: money,
    totalAmount: money,
    installmentAmount: money,
    balance: money,
    totalPaid: money,
    paidInstallments: z.number().int(),
    paymentCount: z.number().int(),
    lastPaymentDate: nullable(z.string()),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Credit');

export const CreditAsOfView = CreditView.extend({
  asOf: z.strictObject({
    date: z.string(),
    expectedInstallments: z.number().int(),
    pendingInstallments: z.number().int(),
    overdueInstallments: z.number().int(),
    overdueAmount: money,
    nextDueDate: nullable(z.string()),
    nextDueAmount: nullable(money),
    arrearsBucket: z.string(),
  }),
}).openapi('CreditAsOf');

export const CreditList = z.strictObject({ credits: z.array(CreditView) }).openapi('CreditList');

const byStatus = <T extends z.ZodType>(t: T) => z.strictObject(Object.fromEntries(LINE_STATUSES.map((s) => [s, t])) as Record<(typeof LINE_STATUSES)[number], T>);

export const PaymentBatchView = z
  .strictObject({
    id: z.string().uuid(),
    kind: z.enum(['FILE', 'REVERSAL']),
    format: z.enum(['CSV', 'NDJSON', 'REVERSAL']),
    mode: z.enum(['APPLY', 'DRY_RUN']),
    status: z.enum(['RECEIVED', 'RUNNING', 'COMPLETED', 'CANCELLED', 'FAILED']),
    reverses: nullable(z.string().uuid()),
    reason: nullable(z.string()),
    lineCount: z.number().int(),
    counts: byStatus(z.number().int()).openapi({ description: 'lines by outcome' }),
    amounts: byStatus(money).openapi({ description: 'amounts by outcome' }),
    createdAt: z.string(),
    startedAt: nullable(z.string()),
    finishedAt: nullable(z.string()),
    durationsMs: z.strictObject({ queued: nullable(z.number()), running: nullable(z.number()), total: nullable(z.number()) }),
    progress: z
      .strictObject({
        linesRead: z.number().int(),
        linesDone: z.number().int(),
        applied: z.number().int(),
        rejected: z.number().int(),
        duplicate: z.number().int(),
        amountApplied: money,
        linesPerSecond: z.number().int(),
      })
      .openapi({ description: 'live while the batch runs: lines read and done, applied (or would apply), refused, duplicates, amount, rate' }),
    actor: nullable(z.string()),
    workflowId: z.string(),
    temporalUiUrl: nullable(z.string()),
  })
  .openapi('PaymentBatch');

export const PaymentBatchList = z.strictObject({ batches: z.array(PaymentBatchView), next: nullable(z.string().uuid()) }).openapi('PaymentBatchList');

export const PaymentBatchLines = z
  .strictObject({
    lines: z.array(
      z.strictObject({
        lineNumber: z.number().int(),
        creditId: nullable(z.string().uuid()),
        creditExternalId: nullable(z.string()),
        amount: money,
        paymentDate: nullable(z.string()),
        reference: nullable(z.string()),
        lineKey: z.string(),
        status: z.enum(LINE_STATUSES),
        code: nullable(z.string()),
        reason: nullable(z.string()),
        paymentId: nullable(z.string().uuid()),
      }),
    ),
    next: nullable(z.number().int()).openapi({ description: "pass as `after` for the next page; null on the last" }),
  })
  .openapi('PaymentBatchLines');

export const CreditAuditTrail = z
  .strictObject({
    creditId: z.string().uuid(),
    entries: z.array(
      z.strictObject({
        id: z.string(),
        occurredAt: z.string(),
        action: z.string(),
        actor: nullable(z.string()),
        paymentId: nullable(z.string().uuid()),
        workflowId: nullable(z.string()),
        runId: nullable(z.string()),
        details: z.record(z.string(), z.unknown()),
      }),
    ),
    next: nullable(z.string()).openapi({ description: 'pass as `before` for the next (older) page; null on the last' }),
  })
  .openapi('CreditAuditTrail');
