import { call, createCredit, pay, startTestApp, TestApp } from '../support/harness';

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
