import { randomUUID } from 'node:crypto';
import { CreditAsOfView, CreditAuditTrail, CreditList, PaymentBatchLines, PaymentBatchList, PaymentBatchView } from '../../src/api/openapi-views';
import { call, createCredit, creditBody, pay, startTestApp, TestApp } from '../support/harness';
import { csvFile, uploadFile, waitForBatch } from '../support/payment-files';
import { discoverRoutes } from '../support/routes';

describe('abono started as npm start starts it', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('is alive and ready: database and Temporal reachable', async () => {
    expect((await call(app, 'GET', '/health')).status).toBe(200);
    const ready = await call(app, 'GET', '/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ database: 'ok', temporal: 'ok' });
  });

  it('serves the OpenAPI document', async () => {
    const doc = await call(app, 'GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/v1/payments', '/v1/credits/{id}']));
  });

  it('the OpenAPI document names every route the API serves, and real answers have the shapes it gives', async () => {
    const doc = (await call(app, 'GET', '/openapi.json')).body;
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    const served = discoverRoutes(app)
      .filter((r) => r.path.startsWith('/v1/'))
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
    expect(served.filter((r) => !documented.includes(r))).toEqual([]);
    // The payment file's upload documents its two media types and its key.
    const upload = doc.paths['/v1/payment-batches'].post;
    expect(Object.keys(upload.requestBody.content).sort()).toEqual(['application/x-ndjson', 'text/csv']);
    expect(upload.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['Idempotency-Key', 'mode']));
    expect(doc.components.schemas.Credit.properties).toHaveProperty('externalId');

    // Each documented shape, strictly, against what the API answers.
    const externalId = `LN-${randomUUID()}`;
    const created = await call(app, 'POST', '/v1/credits', { key: app.keys.admin, body: creditBody({ externalId }) });
    expect(CreditAsOfView.parse(created.body).externalId).toBe(externalId);
    const found = await call(app, 'GET', `/v1/credits?externalId=${encodeURIComponent(externalId)}`, { key: app.keys.viewer });
    expect(CreditList.parse(found.body).credits.map((c) => c.id)).toEqual([created.body.id]);
    expect(CreditAsOfView.parse((await call(app, 'GET', `/v1/credits/${created.body.id}`, { key: app.keys.viewer })).body).externalId).toBe(externalId);
    const file = csvFile([{ creditExternalId: externalId, amount: '10.00', paymentDate: '2026-02-01' }, { creditExternalId: 'LN-none', amount: '1.00', paymentDate: '2026-02-01' }], ['creditExternalId', 'amount', 'paymentDate']);
    const posted = await uploadFile(app, file, randomUUID());
    expect(PaymentBatchView.parse(posted.body).id).toBe(posted.body.id);
    const done = PaymentBatchView.parse(await waitForBatch(app, posted.body.id));
    expect(done.progress).toMatchObject({ linesRead: 2, linesDone: 2, applied: 1, rejected: 1, amountApplied: '10.00' });
    const lines = PaymentBatchLines.parse((await call(app, 'GET', `/v1/payment-batches/${done.id}/lines`, { key: app.keys.viewer })).body);
    expect(lines.lines.map((l) => l.status)).toEqual(['APPLIED', 'REJECTED']);
    const list = PaymentBatchList.parse((await call(app, 'GET', '/v1/payment-batches?limit=5', { key: app.keys.viewer })).body);
    expect(list.batches[0].id).toBe(done.id);
    const audit = CreditAuditTrail.parse((await call(app, 'GET', `/v1/credits/${created.body.id}/audit`, { key: app.keys.viewer })).body);
    expect(audit.entries.map((e) => e.action)).toContain('payment.applied');
  });

  it('runs a real payment workflow through its worker', async () => {
    const credit = await createCredit(app);
    const res = await pay(app, credit.id, '100.00');
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('APPLIED');
    const described = await app.abono.client.workflow.getHandle(`payment-${res.body.id}`).describe();
    expect(described.status.name).toBe('COMPLETED');
    expect(described.taskQueue).toBe(app.taskQueue);
  });
});
