import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { CreateCreditBody, CreatePaymentBody, ReversalBody } from './schemas';
import { PaymentsReportQuery, PortfolioQuery } from './routes/reports';
import { DifferencesQuery, ImportQuery } from './routes/imports';

/** The OpenAPI document, generated from the same zod schemas the routes validate with. */
export function openApiDocument() {
  const reg = new OpenAPIRegistry();
  const bearer = reg.registerComponent('securitySchemes', 'apiKey', { type: 'http', scheme: 'bearer' });
  const security = [{ [bearer.name]: [] }];
  const json = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } });
  const problem = { description: 'problem+json with a stable code', content: { 'application/problem+json': { schema: z.object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string(), code: z.string() }) } } };
  const id = z.object({ id: z.string().uuid() });

  reg.registerPath({ method: 'post', path: '/v1/credits', summary: 'Create a credit (admin)', security, request: { body: json(CreateCreditBody) }, responses: { 201: { description: 'the credit with its schedule summary' }, 400: problem } });
  reg.registerPath({ method: 'get', path: '/v1/credits/{id}', summary: 'A credit with its figures as of a date (viewer)', security, request: { params: id, query: z.object({ asOf: z.string().optional() }) }, responses: { 200: { description: 'credit' }, 404: problem } });
  reg.registerPath({ method: 'get', path: '/v1/credits/{id}/schedule', summary: 'Instalments with paid and remaining (viewer)', security, request: { params: id }, responses: { 200: { description: 'schedule' }, 404: problem } });
  reg.registerPath({ method: 'get', path: '/v1/credits/{id}/payments', summary: 'Payments with principal, interest and remaining (viewer)', security, request: { params: id }, responses: { 200: { description: 'payments' }, 404: problem } });
  reg.registerPath({
    method: 'post',
    path: '/v1/payments',
    summary: 'Submit a payment (operator); idempotent on the Idempotency-Key header',
    security,
    request: { headers: z.object({ 'Idempotency-Key': z.string() }), body: json(CreatePaymentBody) },
    responses: { 201: { description: 'applied' }, 202: { description: 'still running; see Location' }, 400: problem, 404: problem, 409: problem, 422: problem, 503: problem },
  });
  reg.registerPath({ method: 'get', path: '/v1/payments/{id}', summary: 'A payment with its allocation, audit trail and workflow link (viewer)', security, request: { params: id }, responses: { 200: { description: 'payment' }, 404: problem } });
  reg.registerPath({ method: 'post', path: '/v1/payments/{id}/reversal', summary: 'Reverse an applied payment (operator)', security, request: { params: id, body: json(ReversalBody) }, responses: { 200: { description: 'reversed' }, 202: { description: 'still running' }, 409: problem } });
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
  reg.registerPath({ method: 'get', path: '/v1/imports/{id}', summary: 'An import: status, progress, credits loaded/unchanged/refused, and for each difference code its count, credits and amount at stake; Temporal UI link (viewer)', security, request: { params: id }, responses: { 200: { description: 'import' }, 404: problem } });
  reg.registerPath({ method: 'get', path: '/v1/imports/{id}/differences', summary: "An import's reconciliation: keyset pages of differences (legacy credit, abono credit, code, field, legacy and abono values, amount at stake, legacy payment), filtered by code; format=csv streams them all (viewer)", security, request: { params: id, query: DifferencesQuery }, responses: { 200: { description: 'differences and the next cursor (JSON) or text/csv' }, 400: problem, 404: problem } });
  reg.registerPath({ method: 'get', path: '/dashboard', summary: 'Portfolio-health page (HTML; asks for a viewer key in the browser)', responses: { 200: { description: 'text/html' } } });
  reg.registerPath({ method: 'get', path: '/metrics', summary: "Prometheus metrics: abono's and, where this process runs the worker, the Temporal SDK's", responses: { 200: { description: 'text/plain; version=0.0.4' } } });
  reg.registerPath({ method: 'get', path: '/health', summary: 'Liveness', responses: { 200: { description: 'alive' } } });
  reg.registerPath({ method: 'get', path: '/ready', summary: 'Readiness: database and Temporal', responses: { 200: { description: 'ready' }, 503: problem } });

  return new OpenApiGeneratorV31(reg.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'abono', version: '1', description: 'Durable, exactly-once payments against instalment credits' },
  });
}
