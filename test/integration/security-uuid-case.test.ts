import { randomUUID } from 'node:crypto';
import { call, createCredit, startTestApp, TestApp } from '../support/harness';

/** An upper-case UUID names the same credit, payment and workflow as its lower-case form. */
describe('ids in one form', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('lower-cases UUIDs in paths and bodies at the boundary', async () => {
    const credit = await createCredit(app);
    const upperCredit = credit.id.toUpperCase();
    const key = randomUUID();
    const body = { creditId: upperCredit, amount: '100.00', paymentDate: '2026-02-01' };
    const paid = await call(app, 'POST', '/v1/payments', { key: app.keys.operator, headers: { 'idempotency-key': key }, body });
    expect(paid.status).toBe(201);
    expect(paid.body.creditId).toBe(credit.id);
    // The same request with the id in lower case is the same request (not a reused key).
    const again = await call(app, 'POST', '/v1/payments', { key: app.keys.operator, headers: { 'idempotency-key': key }, body: { ...body, creditId: credit.id } });
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(paid.body.id);
    const recorded = await app.abono.ds.query(`SELECT credit_id::text, request->>'creditId' AS request_credit FROM idempotency_keys WHERE key = $1`, [key]);
    expect(recorded[0]).toEqual({ credit_id: credit.id, request_credit: credit.id });

    const upperPayment = paid.body.id.toUpperCase();
    const got = await call(app, 'GET', `/v1/payments/${upperPayment}`, { key: app.keys.viewer });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: paid.body.id, creditId: credit.id, workflowId: `payment-${paid.body.id}` });
    const creditGot = await call(app, 'GET', `/v1/credits/${upperCredit}`, { key: app.keys.viewer });
    expect(creditGot.status).toBe(200);
    expect(creditGot.body.id).toBe(credit.id);
    const listed = await call(app, 'GET', `/v1/credits/${upperCredit}/payments`, { key: app.keys.viewer });
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ creditId: credit.id, payments: [{ id: paid.body.id }] });

    const reversed = await call(app, 'POST', `/v1/payments/${upperPayment}/reversal`, { key: app.keys.operator, body: { reason: 'bounced' } });
    expect(reversed.status).toBe(200);
    expect(reversed.headers.get('location')).toBe(`/v1/payments/${paid.body.id}`);
    // The lower-case id names the same reversal workflow.
    const twice = await call(app, 'POST', `/v1/payments/${paid.body.id}/reversal`, { key: app.keys.operator, body: { reason: 'again' } });
    expect(twice.status).toBe(409);
    await expect(app.abono.client.workflow.getHandle(`reversal-${paid.body.id}`).describe()).resolves.toBeTruthy();

    const batch = await call(app, 'POST', '/v1/recalculations', { key: app.keys.admin, body: { mode: 'DRY_RUN', creditIds: [upperCredit] } });
    expect(batch.status).toBe(202);
    const runs = await app.abono.ds.query(`SELECT scope FROM recalculation_runs WHERE id = $1`, [batch.body.id]).catch(() => []);
    const deadline = Date.now() + 30_000;
    let scope = runs[0]?.scope;
    while (!scope && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      scope = (await app.abono.ds.query(`SELECT scope FROM recalculation_runs WHERE id = $1`, [batch.body.id]))[0]?.scope;
    }
    expect(JSON.stringify(scope)).toContain(credit.id);
    expect(JSON.stringify(scope)).not.toContain(upperCredit);
  });
});
