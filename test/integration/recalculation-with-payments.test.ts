import { randomUUID } from 'node:crypto';
import { findInconsistentCredits } from '../support/consistency';
import { call, createCredit, pay, startTestApp, TestApp } from '../support/harness';

async function waitFor(app: TestApp, id: string) {
  for (let i = 0; i < 600; i++) {
    const got = await call(app, 'GET', `/v1/recalculations/${id}?limit=1000`, { key: app.keys.viewer });
    if (got.status === 200 && ['COMPLETED', 'FAILED'].includes(got.body.status)) return got.body;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`recalculation ${id} did not finish`);
}

async function runBatch(app: TestApp, body: Record<string, unknown>) {
  const started = await call(app, 'POST', '/v1/recalculations', { key: app.keys.admin, body });
  expect(started.status).toBe(202);
  return waitFor(app, started.body.id);
}

describe('a recalculation batch running while payments arrive', () => {
  let app: TestApp;
  beforeAll(async () => {
    // Small chunks, two at a time: the batch interleaves with the payments many times.
    app = await startTestApp({ RECALC_CHUNK_SIZE: '4', RECALC_PARALLELISM: '2' });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('corrects only the drifted credits, never one a payment just changed correctly, and holds no payment up', async () => {
    const credits: string[] = [];
    for (let i = 0; i < 30; i++) {
      const c = await createCredit(app, { principal: '50000.00', installments: 12 + (i % 5), scheduleType: i % 2 ? 'DECLINING' : 'FLAT' });
      credits.push(c.id);
      expect((await pay(app, c.id, `${20 + i}.10`)).status).toBe(201);
    }
    // Three credits drift the way a stray UPDATE would make them; payments go to the other 27.
    const drifted = [credits[3], credits[14], credits[25]].sort();
    await app.abono.ds.query(`UPDATE credits SET total_paid = total_paid + 5, balance = balance - 5 WHERE id = ANY($1::uuid[])`, [drifted]);
    const paying = credits.filter((id) => !drifted.includes(id));
    // The consistency check the other tests rely on finds exactly them, over every page and over named credits.
    const found = await findInconsistentCredits(app.abono.ds, { pageSize: 7 });
    expect([found.scanned, found.inconsistent.map((c) => c.creditId)]).toEqual([30, drifted]);
    expect(found.inconsistent[0].drift.map((d) => d.field)).toEqual(['totalPaid', 'balance']);
    const named = await findInconsistentCredits(app.abono.ds, { creditIds: [credits[0], credits[14], credits[29]], pageSize: 2 });
    expect([named.scanned, named.inconsistent.map((c) => c.creditId)]).toEqual([3, [credits[14]]]);

    // 90 payments in waves of 9 while a correcting batch and then two dry runs walk the same credits.
    const answers: number[] = [];
    const payments = (async () => {
      for (let wave = 0; wave < 10; wave++) {
        const wave_ = await Promise.all(Array.from({ length: 9 }, (_, j) => pay(app, paying[(wave * 9 + j) % paying.length], `${(j % 4) + 1}.05`, {}, randomUUID())));
        answers.push(...wave_.map((a) => a.status));
      }
    })();
    const correcting = await runBatch(app, { mode: 'CORRECT' });
    const dryRuns = [await runBatch(app, { dryRun: true }), await runBatch(app, { dryRun: true })];
    await payments;

    // The batch found and corrected exactly the drifted credits, with an audit entry each.
    expect(correcting).toMatchObject({ status: 'COMPLETED', scanned: 30, inconsistent: 3, corrected: 3, errors: 0 });
    expect(correcting.inconsistentCredits.map((c: any) => c.creditId)).toEqual(drifted);
    const audited = await app.abono.ds.query(`SELECT credit_id FROM audit_log WHERE action = 'credit.recalculated' ORDER BY credit_id`);
    expect(audited.map((a: any) => a.credit_id)).toEqual(drifted);
    // Batches that ran among the payments saw no drift in credits the payments were changing.
    for (const dry of dryRuns) expect(dry).toMatchObject({ status: 'COMPLETED', scanned: 30, inconsistent: 0, errors: 0 });

    // Every payment was applied within the wait budget (201, never 202), once.
    expect(answers).toEqual(Array(90).fill(201));
    const [{ applied }] = await app.abono.ds.query(`SELECT count(*)::int AS applied FROM payments WHERE status = 'APPLIED'`);
    expect(applied).toBe(30 + 90);
    expect((await findInconsistentCredits(app.abono.ds)).inconsistent).toEqual([]);
  });
});
