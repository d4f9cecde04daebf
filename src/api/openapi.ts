import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { AuditPageQuery, CreateCreditBody, CreatePaymentBody, CreditsQuery, ReversalBody } from './schemas';
import { PaymentsReportQuery, PortfolioQuery } from './routes/reports';
import { BatchListQuery, LinesQuery, UploadQuery } from './routes/payment-batches';
import { RecalculationApprovalBody, StartRecalculationBody } from './routes/recalculations';
import { CreditAsOfView, CreditAuditTrail, CreditList, PaymentBatchLines, PaymentBatchList, PaymentBatchView } from './openapi-views';
import { DifferencesQuery, ImportListQuery, ImportQuery } from './routes/imports';

/**
 * The OpenAPI document, generated from the same zod schemas the routes validate with. Long: one declaration
 * per route, read top to bottom like the route table.
 */
export function openApiDocument() {
  const reg = new OpenAPIRegistry();
  const bearer = reg.registerComponent('securitySchemes', 'apiKey', { type: 'http', scheme: 'bearer' });
  const security = [{ [bearer.name]: [] }];
  const json = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } });
  const problem = { description: 'problem+json with a stable code', content: { 'application/problem+json': { schema: z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string(), code: z.string() }) } } };
  const id = z.object({ id: z.string().uuid() });

  const answer = (description: string, schema: z.ZodType) => ({ description, ...json(schema) });
  const idempotencyKey = z.object({ 'Idempotency-Key': z.string() });

  reg.registerPath({ method: 'post', path: '/v1/credits', summary: "Create a credit (admin); externalId, optional, is the lender's own loan number (unique)", security, request: { body: json(CreateCreditBody) }, responses: { 201: answer('the credit with its schedule summary', CreditAsOfView), 400: problem, 409: problem } });
  reg.registerPath({ method: 'get', path: '/v1/credits', summary: "Find a credit by the lender's loan number: a list of at most one (viewer)", security, request: { query: CreditsQuery }, responses: { 200: answer('the credits with this externalId (none: an empty list)', CreditList), 400: problem } });
  reg.registerPath({ method: 'get', path: '/v1/credits/{id}', summary: 'A credit with its figures as of a date (viewer)', security, request: { params: id, query: z.object({ asOf: z.string().optional() }) }, responses: { 200: answer('credit', CreditAsOfView), 404: problem } });
  reg.registerPath({ method: 'get', path: '/v1/credits/{id}/audit', summary: "A credit's audit trail, newest first, paged with `before` (viewer)", security, request: { params: id, query: AuditPageQuery }, responses: { 200: answer('entries', CreditAuditTrail), 400: problem, 404: problem } });
  reg.registerPath({ method: 'get', path: '/v1/credits/{id}/schedule', summary: 'Instalments with paid and remaining (viewer)', security, request: { params: id }, responses: { 200: { description: 'schedule' }, 404: problem } });
  reg.registerPath({ method: 'get', path: '/v1/credits/{id}/payments', summary: 'Payments with principal, interest and remaining (viewer)', security, request: { params: id }, responses: { 200: { description: 'payments' }, 404: problem } });
  reg.registerPath({
    method: 'post',
    path: '/v1/payments',
    summary: 'Submit a payment (operator); idempotent on the Idempotency-Key header',
    security,
    request: { headers: idempotencyKey, body: json(CreatePaymentBody) },
    responses: { 201: { description: 'applied' }, 202: { description: 'still running; see Location' }, 400: problem, 404: problem, 409: problem, 422: problem, 503: problem },
  });
  reg.registerPath({ method: 'get', path: '/v1/payments/{id}', summary: 'A payment with its allocation, audit trail and workflow link (viewer)', security, request: { params: id }, responses: { 200: { description: 'payment' }, 404: problem } });
  reg.registerPath({ method: 'post', path: '/v1/payments/{id}/reversal', summary: 'Reverse an applied payment (operator)', security, request: { params: id, body: json(ReversalBody) }, responses: { 200: { description: 'reversed' }, 202: { description: 'still running' }, 409: problem } });
  const batchId = z.object({ id: z.string().uuid() });
  reg.registerPath({
    method: 'post',
    path: '/v1/payment-batches',
    summary: 'Upload a payment file (operator), streamed: CSV with a header row or NDJSON; columns creditId or creditExternalId, amount, paymentDate, reference, lineKey. Idempotent on the Idempotency-Key header (the file as a whole); a malformed file is refused whole, naming its line and column',
    security,
    request: {
      headers: idempotencyKey,
      query: UploadQuery,
      body: { content: { 'text/csv': { schema: z.string().describe('creditExternalId,amount,paymentDate,reference,lineKey\nLN-2026-000123,150.00,2026-11-28,DD-88412,bank-0001') }, 'application/x-ndjson': { schema: z.string().describe('one JSON object a line, the same fields') } } },
    },
    responses: { 202: answer('accepted; Location: /v1/payment-batches/{id}', PaymentBatchView), 200: answer('the same key and file again: the batch it made', PaymentBatchView), 400: problem, 409: problem, 413: problem, 415: problem, 503: problem },
  });
  reg.registerPath({ method: 'get', path: '/v1/payment-batches', summary: 'Recent payment batches (files and reversals), newest first, paged with `before` (viewer)', security, request: { query: BatchListQuery }, responses: { 200: answer('batches', PaymentBatchList), 400: problem } });
  reg.registerPath({ method: 'get', path: '/v1/payment-batches/{id}', summary: 'A payment batch: status, counts and amounts by outcome, live progress, durations, Temporal UI link (viewer)', security, request: { params: batchId }, responses: { 200: answer('batch', PaymentBatchView), 404: problem } });
  reg.registerPath({ method: 'get', path: '/v1/payment-batches/{id}/lines', summary: "A batch's lines in file order with their outcome, code and payment id, optionally of one status; paged with `after`, or every line as streamed CSV with format=csv (viewer)", security, request: { params: batchId, query: LinesQuery }, responses: { 200: { description: 'lines (JSON) or text/csv', content: { 'application/json': { schema: PaymentBatchLines }, 'text/csv': { schema: z.string() } } }, 400: problem, 404: problem } });
  reg.registerPath({ method: 'post', path: '/v1/payment-batches/{id}/reversal', summary: 'Reverse every payment a finished file applied, as a batch of its own (operator); asking again answers the same reversal', security, request: { params: batchId, body: json(ReversalBody) }, responses: { 202: answer('the reversal batch; Location: /v1/payment-batches/{reversal id}', PaymentBatchView), 404: problem, 409: problem } });
  reg.registerPath({ method: 'post', path: '/v1/payment-batches/{id}/cancellation', summary: 'Stop a running batch after the chunks in flight (operator): what was applied stays applied and is listed; the other lines stay PENDING', security, request: { params: batchId }, responses: { 202: answer('the batch, still RUNNING until its chunks in flight end; then CANCELLED', PaymentBatchView), 404: problem, 409: problem, 503: problem } });
  const recalcId = z.object({ id: z.string().describe('recalculation-…') });
  reg.registerPath({ method: 'post', path: '/v1/recalculations', summary: 'Start a recalculation batch: DRY_RUN, CORRECT or REVIEW, FULL or INCREMENTAL (admin)', security, request: { body: json(StartRecalculationBody) }, responses: { 202: { description: 'started; Location: /v1/recalculations/{id}' }, 400: problem } });
  reg.registerPath({ method: 'get', path: '/v1/recalculations/{id}', summary: 'A recalculation: status, counts, the drifted credits paged with `after` (viewer)', security, request: { params: recalcId, query: z.object({ after: z.string().uuid().optional(), limit: z.string().optional().describe('1..1000, default 100') }) }, responses: { 200: { description: 'recalculation' }, 404: problem } });
  reg.registerPath({ method: 'post', path: '/v1/recalculations/{id}/approval', summary: "Approve or reject a REVIEW batch's corrections (admin; not the key that started it)", security, request: { params: recalcId, body: json(RecalculationApprovalBody) }, responses: { 200: { description: 'the decided recalculation' }, 403: problem, 409: problem } });
  reg.registerPath({ method: 'get', path: '/v1/reports/portfolio', summary: 'Portfolio as of a date: totals, arrears buckets, keyset-paged rows, or every row as streamed CSV (viewer)', security, request: { query: PortfolioQuery }, responses: { 200: { description: 'totals, buckets and rows (JSON) or text/csv' }, 400: problem } });
  reg.registerPath({ method: 'get', path: '/v1/reports/payments', summary: 'Collections: payments in a date range with principal/interest splits and totals per day (viewer)', security, request: { query: PaymentsReportQuery }, responses: { 200: { description: 'totals, days and rows (JSON) or text/csv' }, 400: problem } });
  reg.registerPath({
    method: 'get',
    path: '/v1/operations/stuck',
    summary: 'Payment, reversal and recalculation workflows still running after olderThan, with current step, attempts, last failure and Temporal UI link (viewer)',
    security,
    request: { query: z.object({ olderThan: z.string().regex(/^\d+(ms|s|m|h)$/).describe('e.g. 60s'), kind: z.string().optional().describe('payment,reversal,recalculation'), creditId: z.string().uuid().optional(), limit: z.string().optional().describe('1..1000, default 100') }) },
    responses: { 200: { description: 'the operations, the visibility query and its Temporal UI list link' }, 400: problem, 503: problem },
  });
  reg.registerPath({ method: 'get', path: '/v1/dashboard/summary', summary: "The dashboard's figures as of today: portfolio, arrears buckets, collections per day (30 days), outcomes, last recalculation, stuck operations (viewer)", security, responses: { 200: { description: 'summary' } } });
  reg.registerPath({ method: 'get', path: '/v1/verification', summary: "The book's last verification: credits proven in the last `days` days (default 7), never proven, changed since, the oldest proof (viewer)", security, request: { query: z.object({ days: z.string().optional().describe('1..366, default 7') }) }, responses: { 200: { description: 'verification' }, 400: problem } });
  reg.registerPath({
    method: 'post',
    path: '/v1/imports',
    summary: "Bring a legacy book in (admin): multipart/form-data with optional `mapping` (YAML) and `mode` parts first, then the `credits` and `payments` CSV files, streamed; 400 problem+json naming file, line and column records nothing",
    security,
    request: {
      query: ImportQuery,
      body: { content: { 'multipart/form-data': { schema: z.object({ mapping: z.string().optional().describe('mapping.yaml: column names, delimiter, encoding, decimal comma, date format'), mode: z.enum(['APPLY', 'DRY_RUN']).optional(), credits: z.string().describe('credits.csv'), payments: z.string().describe('payments.csv') }) } } },
    },
    responses: { 202: { description: 'the import (as GET /v1/imports/{id}); Location names it' }, 400: problem, 403: problem, 415: problem },
  });
  reg.registerPath({ method: 'get', path: '/v1/imports', summary: 'Recent imports, newest first, each as GET /v1/imports/{id} answers it; paged with `before` (viewer)', security, request: { query: ImportListQuery }, responses: { 200: { description: 'imports and the next page\'s `before`' }, 400: problem } });
  reg.registerPath({ method: 'get', path: '/v1/imports/{id}', summary: 'An import: status, progress, credits loaded/unchanged/refused, and for each difference code its count, credits and amount at stake; Temporal UI link (viewer)', security, request: { params: id }, responses: { 200: { description: 'import' }, 404: problem } });
  reg.registerPath({ method: 'get', path: '/v1/imports/{id}/differences', summary: "An import's reconciliation: keyset pages of differences (legacy credit, abono credit, code, field, legacy and abono values, amount at stake, legacy payment), filtered by code; format=csv streams them all (viewer)", security, request: { params: id, query: DifferencesQuery }, responses: { 200: { description: 'differences and the next cursor (JSON) or text/csv' }, 400: problem, 404: problem } });
  reg.registerPath({ method: 'get', path: '/dashboard', summary: 'The dashboard (HTML; asks for an API key in the browser): portfolio health, payment files, a credit by id or loan number', responses: { 200: { description: 'text/html' } } });
  reg.registerPath({ method: 'get', path: '/metrics', summary: "Prometheus metrics: abono's and, where this process runs the worker, the Temporal SDK's", responses: { 200: { description: 'text/plain; version=0.0.4' } } });
  reg.registerPath({ method: 'get', path: '/health', summary: 'Liveness', responses: { 200: { description: 'alive' } } });
  reg.registerPath({ method: 'get', path: '/ready', summary: 'Readiness: database and Temporal', responses: { 200: { description: 'ready' }, 503: problem } });

  return new OpenApiGeneratorV31(reg.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'abono', version: '1', description: 'Durable, exactly-once payments against instalment credits' },
  });
}
