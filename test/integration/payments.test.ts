import { randomUUID } from 'node:crypto';
import { findInconsistentCredits } from '../support/consistency';
import { snapshot } from '../support/db';
import { call, createCredit, pay, startTestApp, TestApp } from '../support/harness';

// FLAT 1000.00 at 5% per period over 4: interest 200.00, four instalments of 300.00,
// each 250.00 principal + 50.00 interest, due 2026-01-01, -01-31, -03-02, -04-01.
describe('payments over HTTP, through the payment workflow', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.stop();
  });

  const getCredit = async (id: string) => (await call(app, 'GET', `/v1/credits/${id}?asOf=2026-02-01`, { key: app.keys.viewer })).body;

  it('applies partial, spanning and paying-off payments with exact splits, then reverses a middle one', async () => {
    const credit = await createCredit(app);
    expect(credit).toMatchObject({ totalAmount: '1200.00', installmentAmount: '300.00', balance: '1200.00', status: 'ACTIVE' });

    // Inside instalment 1.
    const p1 = await pay(app, credit.id, '100.00');
    expect(p1.status).toBe(201);
    expect(p1.headers.get('location')).toBe(`/v1/payments/${p1.body.id}`);
    expect(p1.body).toMatchObject({
      status: 'APPLIED',
      amount: '100.00',
      principalPortion: '83.33',
      interestPortion: '16.67',
      installmentNumber: 1,
      remainingForInstallment: '200.00',
      balanceAfter: '1100.00',
    });

    // Spanning instalments 1 and 2.
    const p2 = await pay(app, credit.id, '350.00');
    expect(p2.status).toBe(201);
    expect(p2.body).toMatchObject({ installmentNumber: 1, remainingForInstallment: '150.00', principalPortion: '291.67', interestPortion: '58.33', balanceAfter: '750.00' });
    expect(p2.body.allocations).toEqual([
      { installmentNumber: 1, amount: '200.00', principal: '166.67', interest: '33.33', remainingForInstallment: '0.00' },
      { installmentNumber: 2, amount: '150.00', principal: '125.00', interest: '25.00', remainingForInstallment: '150.00' },
    ]);
    expect(await getCredit(credit.id)).toMatchObject({ totalPaid: '450.00', balance: '750.00', paidInstallments: 1, paymentCount: 2 });

    // Pays the credit off.
    const p3 = await pay(app, credit.id, '750.00');
    expect(p3.status).toBe(201);
    expect(p3.body.balanceAfter).toBe('0.00');
    const paidOff = await getCredit(credit.id);
    expect(paidOff).toMatchObject({ status: 'PAID_OFF', balance: '0.00', totalPaid: '1200.00', paidInstallments: 4, paymentCount: 3 });

    // Over the paid credit the portions add up to principal and interest exactly.
    const list = (await call(app, 'GET', `/v1/credits/${credit.id}/payments`, { key: app.keys.viewer })).body.payments;
    const sum = (f: string) => list.reduce((acc: number, p: any) => acc + Math.round(Number(p[f]) * 100), 0) / 100;
    expect(sum('principalPortion')).toBe(1000);
    expect(sum('interestPortion')).toBe(200);

    // A paid-off credit takes no more payments: refused, recorded as REJECTED, nothing changes.
    const late = await pay(app, credit.id, '1.00');
    expect(late.status).toBe(422);
    expect(late.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(late.body).toMatchObject({ code: 'CREDIT_NOT_ACTIVE', paymentStatus: 'REJECTED' });
    expect((await call(app, 'GET', `/v1/payments/${late.body.paymentId}`, { key: app.keys.viewer })).body.status).toBe('REJECTED');

    // Reverse the middle payment: the credit is ACTIVE again and the later payment re-allocated.
    const rev = await call(app, 'POST', `/v1/payments/${p2.body.id}/reversal`, { key: app.keys.operator, body: { reason: 'bounced cheque' } });
    expect(rev.status).toBe(200);
    expect(rev.body).toMatchObject({ status: 'REVERSED', reversalReason: 'bounced cheque' });
    expect(rev.body.audit.map((a: any) => a.action)).toContain('payment.reversed');
    expect(await getCredit(credit.id)).toMatchObject({ status: 'ACTIVE', totalPaid: '850.00', balance: '350.00', paidInstallments: 2, paymentCount: 2 });
    const p3After = (await call(app, 'GET', `/v1/payments/${p3.body.id}`, { key: app.keys.viewer })).body;
    expect(p3After).toMatchObject({ installmentNumber: 1, remainingForInstallment: '50.00', balanceAfter: '350.00' });
    expect(p3After.allocations.map((a: any) => [a.installmentNumber, a.amount])).toEqual([
      [1, '200.00'],
      [2, '300.00'],
      [3, '250.00'],
    ]);

    // Twice is refused; so is reversing a payment that was never applied.
    const again = await call(app, 'POST', `/v1/payments/${p2.body.id}/reversal`, { key: app.keys.operator, body: { reason: 'again' } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('PAYMENT_ALREADY_REVERSED');
    const rejected = await call(app, 'POST', `/v1/payments/${late.body.paymentId}/reversal`, { key: app.keys.operator, body: { reason: 'x' } });
    expect(rejected.status).toBe(409);
    expect(rejected.body.code).toBe('PAYMENT_NOT_APPLIED');

    const schedule = (await call(app, 'GET', `/v1/credits/${credit.id}/schedule`, { key: app.keys.viewer })).body;
    expect(schedule.installments.map((i: any) => [i.number, i.paid, i.remaining, i.status])).toEqual([
      [1, '300.00', '0.00', 'PAID'],
      [2, '300.00', '0.00', 'PAID'],
      [3, '250.00', '50.00', 'PARTIAL'],
      [4, '0.00', '300.00', 'UNPAID'],
    ]);
    expect((await findInconsistentCredits(app.abono.ds, { creditIds: [credit.id] })).inconsistent).toEqual([]);
  });

  it('shows a payment with its allocation, audit trail and Temporal UI link', async () => {
    const credit = await createCredit(app);
    const p = await pay(app, credit.id, '300.00');
    const got = await call(app, 'GET', `/v1/payments/${p.body.id}`, { key: app.keys.viewer });
    expect(got.status).toBe(200);
    expect(got.body.audit.map((a: any) => a.action)).toEqual(['payment.applied', 'payment.workflow_completed']);
    expect(got.body.audit[0].actor).toMatch(/:test-operator$/);
    expect(got.body.temporalUrl).toBe(`http://127.0.0.1:8233/namespaces/default/workflows/payment-${p.body.id}`);
    expect(got.body.allocations).toEqual([{ installmentNumber: 1, amount: '300.00', principal: '250.00', interest: '50.00', remainingForInstallment: '0.00' }]);
  });

  it.each([
    ['an amount above the balance', { amount: '1200.01' }, 'AMOUNT_EXCEEDS_BALANCE', 'amount'],
    ['a date in the future', { paymentDate: '2999-01-01' }, 'PAYMENT_DATE_INVALID', 'paymentDate'],
    ['a date before the credit started', { paymentDate: '2025-12-31' }, 'PAYMENT_DATE_INVALID', 'paymentDate'],
  ])('refuses %s with 422, records it REJECTED, and leaves the credit as it was', async (_name, extra, code, field) => {
    const credit = await createCredit(app);
    const res = await pay(app, credit.id, '100.00', extra);
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code, paymentStatus: 'REJECTED', errors: [{ field, code }] });
    const stored = (await call(app, 'GET', `/v1/payments/${res.body.paymentId}`, { key: app.keys.viewer })).body;
    expect(stored).toMatchObject({ status: 'REJECTED', reasonCode: code });
    expect(await getCredit(credit.id)).toMatchObject({ balance: '1200.00', totalPaid: '0.00', paymentCount: 0 });
  });

  describe('malformed input: the right status and code, and the database unchanged', () => {
    let creditId: string;
    beforeAll(async () => {
      creditId = (await createCredit(app)).id;
    });
    const body = (over: Record<string, unknown>) => ({ creditId, amount: '10.00', ...over });
    const cases: Array<[string, () => { body?: unknown; rawBody?: string; headers?: Record<string, string>; noKey?: boolean }, number, string]> = [
      ['bad JSON', () => ({ rawBody: '{"creditId": ', headers: { 'content-type': 'application/json' } }), 400, 'MALFORMED_JSON'],
      ['wrong content type', () => ({ rawBody: 'amount=10', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['missing Idempotency-Key', () => ({ body: body({}), noKey: true }), 400, 'IDEMPOTENCY_KEY_REQUIRED'],
      ['empty Idempotency-Key', () => ({ body: body({}), headers: { 'idempotency-key': '' } }), 400, 'IDEMPOTENCY_KEY_REQUIRED'],
      ['unknown field', () => ({ body: body({ discount: '5.00' }) }), 400, 'UNKNOWN_FIELD'],
      ['amount "0"', () => ({ body: body({ amount: '0' }) }), 400, 'AMOUNT_INVALID'],
      ['amount "-1"', () => ({ body: body({ amount: '-1' }) }), 400, 'AMOUNT_INVALID'],
      ['amount "1.001"', () => ({ body: body({ amount: '1.001' }) }), 400, 'AMOUNT_INVALID'],
      ['amount "1e3"', () => ({ body: body({ amount: '1e3' }) }), 400, 'AMOUNT_INVALID'],
      ['amount "NaN"', () => ({ body: body({ amount: 'NaN' }) }), 400, 'AMOUNT_INVALID'],
      ['amount as a number', () => ({ body: body({ amount: 10 }) }), 400, 'AMOUNT_INVALID'],
      ['amount 10^15', () => ({ body: body({ amount: '1000000000000000' }) }), 400, 'AMOUNT_INVALID'],
      ['a date that does not exist', () => ({ body: body({ paymentDate: '2026-02-30' }) }), 400, 'PAYMENT_DATE_INVALID'],
      ['a credit id that is not a uuid', () => ({ body: body({ creditId: '../../etc/passwd' }) }), 400, 'CREDIT_ID_INVALID'],
      ['a credit that does not exist', () => ({ body: body({ creditId: randomUUID() }) }), 404, 'CREDIT_NOT_FOUND'],
    ];
    it.each(cases)('%s', async (_name, make, status, code) => {
      const before = await snapshot(app.abono.ds);
      const c = make();
      const headers = { ...(c.noKey ? {} : { 'idempotency-key': randomUUID() }), ...(c.headers ?? {}) };
      const res = await call(app, 'POST', '/v1/payments', { key: app.keys.operator, body: c.body, rawBody: c.rawBody, headers });
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(res.body.code).toBe(code);
      expect(await snapshot(app.abono.ds)).toEqual(before);
    });
  });

  it('answers the same key and body with the first answer, and a different body with 409', async () => {
    const credit = await createCredit(app);
    const key = randomUUID();
    const first = await pay(app, credit.id, '120.00', {}, key);
    const second = await pay(app, credit.id, '120.00', {}, key);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    const other = await pay(app, credit.id, '121.00', {}, key);
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', errors: [{ field: 'Idempotency-Key' }] });
    expect(await getCredit(credit.id)).toMatchObject({ totalPaid: '120.00', paymentCount: 1 });
  });

  it('20 concurrent submissions with one key: one payment applied, 20 identical answers', async () => {
    const credit = await createCredit(app);
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 20 }, () => pay(app, credit.id, '55.55', {}, key)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(201));
    for (const a of answers) expect(a.body).toEqual(answers[0].body);
    expect(await getCredit(credit.id)).toMatchObject({ totalPaid: '55.55', balance: '1144.45', paymentCount: 1 });
    const payments = (await call(app, 'GET', `/v1/credits/${credit.id}/payments`, { key: app.keys.viewer })).body.payments;
    expect(payments).toHaveLength(1);
  });

  it('50 concurrent payments with different keys to one credit: all applied, balance exact to the cent', async () => {
    const credit = await createCredit(app, { principal: '5000.00', interestRate: '0.0123', installments: 12 });
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => pay(app, credit.id, `${10 + i}.${String(i % 100).padStart(2, '0')}`)));
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(201));
    const paidCents = answers.reduce((acc, a) => acc + Math.round(Number(a.body.amount) * 100), 0);
    const after = await getCredit(credit.id);
    expect(Math.round(Number(after.totalPaid) * 100)).toBe(paidCents);
    expect(Math.round(Number(after.balance) * 100)).toBe(Math.round(Number(credit.totalAmount) * 100) - paidCents);
    expect(after.paymentCount).toBe(50);
    // Ledger sequence numbers are 1..50 with no gap or repeat.
    const seqs = (await call(app, 'GET', `/v1/credits/${credit.id}/payments`, { key: app.keys.viewer })).body.payments.map((p: any) => p.ledgerSeq).sort((a: number, b: number) => a - b);
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect((await findInconsistentCredits(app.abono.ds)).inconsistent).toEqual([]);
  });
});
