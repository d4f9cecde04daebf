import { snapshot } from '../support/db';
import { call, createCredit, startTestApp, TestApp } from '../support/harness';

describe("credits carry the lender's own loan number", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('is set at creation, read in every view, found by GET /v1/credits?externalId= and unique', async () => {
    const credit = await createCredit(app, { externalId: 'LN-0001' });
    expect(credit.externalId).toBe('LN-0001');
    const byId = await call(app, 'GET', `/v1/credits/${credit.id}`, { key: app.keys.viewer });
    expect(byId.body.externalId).toBe('LN-0001');

    const found = await call(app, 'GET', '/v1/credits?externalId=LN-0001', { key: app.keys.viewer });
    expect(found.status).toBe(200);
    expect(found.body.credits.map((c: { id: string }) => c.id)).toEqual([credit.id]);
    expect((await call(app, 'GET', '/v1/credits?externalId=LN-none', { key: app.keys.viewer })).body).toEqual({ credits: [] });

    const portfolio = await call(app, 'GET', '/v1/reports/portfolio?asOf=2026-02-01', { key: app.keys.viewer });
    expect(portfolio.body.rows.find((r: { id: string }) => r.id === credit.id).externalId).toBe('LN-0001');

    const before = await snapshot(app.abono.ds);
    const again = await call(app, 'POST', '/v1/credits', {
      key: app.keys.admin,
      body: { clientId: 'c', principal: '100.00', interestRate: '0', installments: 1, startDate: '2026-01-01', externalId: 'LN-0001' },
    });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'CREDIT_EXTERNAL_ID_TAKEN' });
    expect(await snapshot(app.abono.ds)).toEqual(before);

    // Optional: credits without one never collide.
    const plain = [await createCredit(app), await createCredit(app)];
    expect(plain.map((c) => c.externalId)).toEqual([null, null]);
  });

  it('refuses a blank or over-long loan number with the field named', async () => {
    for (const externalId of ['   ', 'x'.repeat(101), 5]) {
      const res = await call(app, 'POST', '/v1/credits', {
        key: app.keys.admin,
        body: { clientId: 'c', principal: '100.00', interestRate: '0', installments: 1, startDate: '2026-01-01', externalId },
      });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].field).toBe('externalId');
    }
    expect((await call(app, 'GET', '/v1/credits', { key: app.keys.viewer })).status).toBe(400);
  });
});
