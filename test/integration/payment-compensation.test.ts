import { compensatePayment } from '../../src/db/payments';
import { call, createCredit, pay, startTestApp, TestApp } from '../support/harness';

// A payment's saga compensates when a later step fails for good. If an operator reversed the payment first, the
// reversal is the payment's outcome: the status table (domain/status.ts) says REVERSED leads nowhere.
describe('compensating a payment an operator already reversed', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('keeps the reversal: the payment stays REVERSED, the credit unchanged, no compensation audited', async () => {
    const credit = await createCredit(app);
    const paid = await pay(app, credit.id, '100.00');
    expect(paid.status).toBe(201);
    expect((await call(app, 'POST', `/v1/payments/${paid.body.id}/reversal`, { key: app.keys.operator, body: { reason: 'bounced' } })).status).toBe(200);
    const ds = app.abono.ds;
    const [row] = await ds.query(`SELECT id, credit_id, amount, payment_date::text AS payment_date, reference, idempotency_key, actor FROM payments WHERE id = $1`, [paid.body.id]);
    const [before] = await ds.query(`SELECT total_paid, balance, paid_installments FROM credits WHERE id = $1`, [credit.id]);
    const req = { paymentId: row.id, creditId: row.credit_id, amount: row.amount, paymentDate: row.payment_date, reference: row.reference, idempotencyKey: row.idempotency_key, actor: row.actor };

    expect(await compensatePayment(ds, req, 'audit log unavailable', { workflowId: `payment-${row.id}`, runId: 'late' })).toBeUndefined();

    const [after] = await ds.query(`SELECT status FROM payments WHERE id = $1`, [row.id]);
    expect(after.status).toBe('REVERSED');
    expect(await ds.query(`SELECT total_paid, balance, paid_installments FROM credits WHERE id = $1`, [credit.id])).toEqual([before]);
    expect(await ds.query(`SELECT 1 FROM audit_log WHERE payment_id = $1 AND action = 'payment.compensated'`, [row.id])).toEqual([]);
  });
});
