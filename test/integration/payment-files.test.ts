import { randomUUID } from 'node:crypto';
import { findInconsistentCredits } from '../support/consistency';
import { snapshot } from '../support/db';
import { call, createCredit, pay, startTestApp, TestApp } from '../support/harness';
import { csvFile, uploadFile, waitForBatch } from '../support/payment-files';
import { paymentFileChunkSeconds } from '../../src/observability/metrics';

/** How many chunk steps of each name this process has timed (the worker runs in the test's process). */
async function chunkStepCounts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await paymentFileChunkSeconds.get()).values) if (v.metricName === 'abono_payment_file_chunk_seconds_count') out[String(v.labels.step)] = v.value;
  return out;
}

// FLAT 1000.00 at 5% over 4: total 1200.00, four instalments of 300.00, from 2026-01-01.
describe('payment files: one durable batch per file, each line applied exactly once', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.stop();
  });
  const ds = () => app.abono.ds;

  /** Credits, payments and allocations of these credits, in credit order, without ids and times. */
  async function ledgerOf(creditIds: string[]) {
    const credits = await ds().query(
      `SELECT total_paid, balance, paid_installments, payment_count, last_payment_date, status, last_ledger_seq FROM credits WHERE id = ANY($1::uuid[]) ORDER BY array_position($1::uuid[], id)`,
      [creditIds],
    );
    const payments = await ds().query(
      `SELECT array_position($1::uuid[], credit_id) AS credit, amount, payment_date, reference, status, ledger_seq, principal_portion, interest_portion,
              installment_number, remaining_for_installment, balance_after, reason_code, reason
         FROM payments WHERE credit_id = ANY($1::uuid[]) ORDER BY 1, coalesce(ledger_seq, 1000000), reference`,
      [creditIds],
    );
    const allocations = await ds().query(
      `SELECT array_position($1::uuid[], a.credit_id) AS credit, p.ledger_seq, a.installment_number, a.amount, a.principal, a.interest, a.remaining_for_installment
         FROM payment_allocations a JOIN payments p ON p.id = a.payment_id WHERE a.credit_id = ANY($1::uuid[]) ORDER BY 1, 2, 3`,
      [creditIds],
    );
    return { credits, payments, allocations };
  }

  it('applies the same payments as POST /v1/payments does, field by field, refusals included', async () => {
    const terms = [{}, { scheduleType: 'DECLINING', installments: 6 }, { principal: '500.00', installments: 2 }];
    const singles: string[] = [];
    const filed: string[] = [];
    for (const t of terms) singles.push((await createCredit(app, t)).id), filed.push((await createCredit(app, t)).id);
    // Partial, spanning, paying off, then over the balance (refused), a date before the start (refused).
    const amounts = ['100.00', '350.00', '0.01', '2000.00', '45.67', '600.00', '999.99'];
    const plan = terms.flatMap((_, c) => amounts.map((amount, i) => ({ c, amount, paymentDate: i === 4 ? '2025-12-01' : `2026-02-0${1 + (i % 5)}`, reference: `ref-${c}-${i}` })));
    for (const p of plan) await pay(app, singles[p.c], p.amount, { paymentDate: p.paymentDate, reference: p.reference });
    // Created, so marked; the file's writes must mark them anew.
    const marksOf = async (ids: string[]) => new Map<string, bigint>((await ds().query(`SELECT credit_id, change_seq FROM credit_changes WHERE credit_id = ANY($1::uuid[])`, [ids])).map((r: { credit_id: string; change_seq: string }) => [r.credit_id, BigInt(r.change_seq)]));
    const createdMarks = await marksOf(filed);
    const stepsBefore = await chunkStepCounts();
    const upload = await uploadFile(app, csvFile(plan.map((p) => ({ creditId: filed[p.c], amount: p.amount, paymentDate: p.paymentDate, reference: p.reference, lineKey: randomUUID() }))), randomUUID());
    expect(upload.status).toBe(202);
    expect(upload.headers.get('location')).toBe(`/v1/payment-batches/${upload.body.id}`);
    const done = await waitForBatch(app, upload.body.id);
    const single = await ledgerOf(singles);
    expect(await ledgerOf(filed)).toEqual(single);
    const rejected = single.payments.filter((p: { status: string }) => p.status === 'REJECTED').length;
    expect(rejected).toBeGreaterThan(0);
    expect(done).toMatchObject({ status: 'COMPLETED', lineCount: plan.length, counts: { APPLIED: plan.length - rejected, REJECTED: rejected, PENDING: 0 } });
    expect((await findInconsistentCredits(ds(), { creditIds: filed })).inconsistent).toEqual([]);
    // Each line's key holds its request as a single payment's key does: the same fields, naming its own payment.
    const requestsOf = async (ids: string[]) =>
      (await ds().query(`SELECT key, payment_id, request FROM idempotency_keys WHERE credit_id = ANY($1::uuid[])`, [ids]))
        .map((k: { key: string; payment_id: string; request: Record<string, unknown> }) => {
          const { paymentId, creditId, idempotencyKey, ...rest } = k.request;
          expect({ paymentId, idempotencyKey }).toEqual({ paymentId: k.payment_id, idempotencyKey: k.key });
          return JSON.stringify({ credit: ids.indexOf(creditId as string), ...rest });
        })
        .sort();
    expect(await requestsOf(filed)).toEqual(await requestsOf(singles));
    // The worker's metrics say where the chunk's time went, every step of it.
    const stepsAfter = await chunkStepCounts();
    for (const step of ['lines', 'locks', 'keys', 'arithmetic', 'payments', 'ledger', 'outcomes']) expect((stepsAfter[step] ?? 0) - (stepsBefore[step] ?? 0)).toBeGreaterThanOrEqual(1);
    // Like every other credit write, the file's chunks mark their credits for the next incremental check.
    const marked = await marksOf(filed);
    expect([...marked.keys()].sort()).toEqual([...filed].sort());
    for (const id of filed) expect(marked.get(id)!).toBeGreaterThan(createdMarks.get(id)!);
    // The refused lines carry the single payment's codes, and can be read back as CSV for the bank.
    const refused = await call(app, 'GET', `/v1/payment-batches/${upload.body.id}/lines?status=REJECTED`, { key: app.keys.viewer });
    expect(new Set(refused.body.lines.map((l: { code: string }) => l.code))).toEqual(new Set(['AMOUNT_EXCEEDS_BALANCE', 'PAYMENT_DATE_INVALID', 'CREDIT_NOT_ACTIVE'].filter((c) => single.payments.some((p: { reason_code: string }) => p.reason_code === c))));
    const csv = await fetch(`${app.url}/v1/payment-batches/${upload.body.id}/lines?status=REJECTED&format=csv`, { headers: { authorization: `Bearer ${app.keys.viewer}` } });
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    expect((await csv.text()).trim().split(/\r?\n/)).toHaveLength(rejected + 1);
  });

  it('a line and a single payment with the same key apply once, and the second answer names the first', async () => {
    const credit = await createCredit(app);
    const sentFirst = randomUUID();
    const single = await pay(app, credit.id, '10.00', { reference: 'r' }, sentFirst);
    expect(single.status).toBe(201);
    const fileFirst = randomUUID();
    const file = csvFile([
      { creditId: credit.id, amount: '10.00', paymentDate: '2026-02-01', reference: 'r', lineKey: sentFirst },
      { creditId: credit.id, amount: '20.00', paymentDate: '2026-02-01', reference: 'r', lineKey: fileFirst },
    ]);
    const batch = await waitForBatch(app, (await uploadFile(app, file, randomUUID())).body.id);
    expect(batch.counts).toMatchObject({ APPLIED: 1, DUPLICATE: 1 });
    const lines = (await call(app, 'GET', `/v1/payment-batches/${batch.id}/lines`, { key: app.keys.viewer })).body.lines;
    expect(lines[0]).toMatchObject({ status: 'DUPLICATE', paymentId: single.body.id });
    const again = await pay(app, credit.id, '20.00', { reference: 'r' }, fileFirst);
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(lines[1].paymentId);
    expect((await call(app, 'GET', `/v1/credits/${credit.id}`, { key: app.keys.viewer })).body).toMatchObject({ totalPaid: '30.00', paymentCount: 2 });
  });

  it('refuses a malformed file whole, naming the line and column, with nothing recorded', async () => {
    const credit = await createCredit(app);
    const good = `${credit.id},10.00,2026-02-01,a,`;
    const header = 'creditId,amount,paymentDate,reference,lineKey';
    const cases: Array<[string, string | Buffer, number, string | null]> = [
      ['3-decimal amount', `${header}\n${good}\n${credit.id},10.001,2026-02-01,b,\n`, 3, 'amount'],
      ['missing header', `${good}\n`, 1, null],
      ['wrong column', `creditId,amount,colour\n${credit.id},1.00,red\n`, 1, 'colour'],
      ['bad date', `${header}\n${good}\n${good}\n${credit.id},1.00,2026-02-30,c,\n`, 4, 'paymentDate'],
      ['bad encoding', Buffer.concat([Buffer.from(`${header}\n${good}\n${credit.id},1.00,2026-02-01,`), Buffer.from([0xc3, 0x28]), Buffer.from(',\n')]), 3, null],
      ['a line of 1 MB', `${header}\n${good}\n${credit.id},1.00,2026-02-01,${'x'.repeat(1024 * 1024)},\n`, 3, null],
    ];
    const before = await snapshot(ds());
    for (const [name, body, line, column] of cases) {
      const res = await uploadFile(app, body, randomUUID());
      expect({ name, status: res.status, type: res.headers.get('content-type') }).toEqual({ name, status: 400, type: expect.stringMatching(/problem\+json/) });
      expect({ name, line: res.body.line, ...(column ? { column: res.body.column } : {}) }).toEqual({ name, line, ...(column ? { column } : {}) });
      expect(res.body.detail).toContain(`line ${line}`);
    }
    const ndjson = await uploadFile(app, `{"creditId":"${credit.id}","amount":"1.00"}\n{"creditId":"${credit.id}","amount":1}\n`, randomUUID(), { type: 'application/x-ndjson' });
    expect(ndjson.body).toMatchObject({ status: 400, line: 2, column: 'amount' });
    expect(await snapshot(ds())).toEqual(before);
    expect(await ds().query(`SELECT count(*)::int AS n FROM payment_batches`).then((r) => r[0].n)).toBeGreaterThanOrEqual(0);
    expect(await ds().query(`SELECT count(*)::int AS n FROM payment_batch_lines l JOIN payment_batches b ON b.id = l.batch_id WHERE b.status = 'RECEIVED'`)).toEqual([{ n: 0 }]);
  });

  it('a file loaded twice: the same key replays; new line keys are refused where the balance runs out; the reversal undoes it', async () => {
    const credits = [await createCredit(app, { externalId: `LN-${randomUUID()}` }), await createCredit(app)];
    const rows: Array<Record<string, string>> = [
      { creditExternalId: credits[0].externalId, amount: '700.00', paymentDate: '2026-02-01' },
      { creditId: credits[1].id, amount: '300.00', paymentDate: '2026-02-01' },
      { creditId: credits[1].id, amount: '600.00', paymentDate: '2026-02-02' },
    ];
    const file = csvFile(rows, ['creditId', 'creditExternalId', 'amount', 'paymentDate']);
    const key = randomUUID();
    const first = await waitForBatch(app, (await uploadFile(app, file, key)).body.id);
    expect(first.counts).toMatchObject({ APPLIED: 3, REJECTED: 0 });
    const replay = await uploadFile(app, file, key);
    expect(replay.status).toBe(200);
    expect(replay.body.id).toBe(first.id);
    expect((await uploadFile(app, file + `${credits[1].id},,1.00,2026-02-01\n`, key)).status).toBe(409);

    // By mistake, the same file under a new key: line keys derive from it, so these are new payments.
    const second = await waitForBatch(app, (await uploadFile(app, file, randomUUID())).body.id);
    expect(second.counts).toMatchObject({ APPLIED: 1, REJECTED: 2 });
    const refused = (await call(app, 'GET', `/v1/payment-batches/${second.id}/lines?status=REJECTED`, { key: app.keys.viewer })).body.lines;
    // 700.00 again exceeds the 500.00 left; 300.00 pays the second credit off, so 600.00 finds it closed.
    expect(refused.map((l: { lineNumber: number; code: string }) => [l.lineNumber, l.code])).toEqual([[2, 'AMOUNT_EXCEEDS_BALANCE'], [4, 'CREDIT_NOT_ACTIVE']]);

    const reversal = await call(app, 'POST', `/v1/payment-batches/${second.id}/reversal`, { key: app.keys.operator, body: { reason: 'file loaded twice' } });
    expect(reversal.status).toBe(202);
    const undone = await waitForBatch(app, reversal.body.id);
    expect(undone).toMatchObject({ kind: 'REVERSAL', reverses: second.id, status: 'COMPLETED', counts: { REVERSED: 1 } });
    const view = async (id: string) => (await call(app, 'GET', `/v1/credits/${id}`, { key: app.keys.viewer })).body;
    expect(await view(credits[0].id)).toMatchObject({ totalPaid: '700.00', paymentCount: 1 });
    expect(await view(credits[1].id)).toMatchObject({ totalPaid: '900.00', paymentCount: 2, status: 'ACTIVE' });
    expect((await findInconsistentCredits(ds(), { creditIds: credits.map((c) => c.id) })).inconsistent).toEqual([]);
    // Asking again answers the same reversal; a reversal is not itself reversible.
    expect((await call(app, 'POST', `/v1/payment-batches/${second.id}/reversal`, { key: app.keys.operator, body: { reason: 'again' } })).body.id).toBe(reversal.body.id);
    expect((await call(app, 'POST', `/v1/payment-batches/${reversal.body.id}/reversal`, { key: app.keys.operator, body: { reason: 'x' } })).status).toBe(409);
  });

  it('DRY_RUN says what would be applied and refused, and changes nothing', async () => {
    const credit = await createCredit(app);
    const before = await snapshot(ds());
    const file = `{"creditId":"${credit.id}","amount":"1000.00"}\n{"creditId":"${credit.id}","amount":"300.00"}\n{"creditId":"${randomUUID()}","amount":"1.00"}\n`;
    const batch = await waitForBatch(app, (await uploadFile(app, file, randomUUID(), { type: 'application/x-ndjson', mode: 'DRY_RUN' })).body.id);
    expect(batch).toMatchObject({ mode: 'DRY_RUN', counts: { WOULD_APPLY: 1, REJECTED: 2, APPLIED: 0 } });
    expect(await snapshot(ds())).toEqual(before);
  });
});
