import { recalculationApproval } from '../../src/workflows';
import { createApiKey } from '../../src/db/api-keys';
import { call, createCredit, startTestApp, TestApp } from '../support/harness';

async function waitFor(app: TestApp, id: string, statuses: string[]) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const got = await call(app, 'GET', `/v1/recalculations/${id}`, { key: app.keys.viewer });
    if (got.status === 200 && statuses.includes(got.body.status)) return got.body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`recalculation ${id} did not reach ${statuses}`);
}

const creditState = async (app: TestApp, id: string) =>
  (await app.abono.ds.query(`SELECT total_paid::text, balance::text, payment_count, paid_installments FROM credits WHERE id = $1`, [id]))[0];

describe('four eyes on REVIEW batches', () => {
  let app: TestApp;
  let maker: { id: string; key: string };
  beforeAll(async () => {
    app = await startTestApp();
    maker = await createApiKey(app.abono.ds, 'maker-admin', 'admin');
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('the key that started a batch cannot approve or reject it (403 SAME_APPROVER); another admin can, and the audit names both', async () => {
    const credit = await createCredit(app);
    await app.abono.ds.query(`UPDATE credits SET payment_count = payment_count + 1 WHERE id = $1`, [credit.id]);
    const drifted = await creditState(app, credit.id);

    const started = await call(app, 'POST', '/v1/recalculations', { key: maker.key, body: { mode: 'REVIEW', creditIds: [credit.id] } });
    expect(started.status).toBe(202);
    await waitFor(app, started.body.id, ['AWAITING_APPROVAL']);

    for (const approve of [true, false]) {
      const own = await call(app, 'POST', `/v1/recalculations/${started.body.id}/approval`, { key: maker.key, body: { approve } });
      expect(own.status).toBe(403);
      expect(own.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(own.body).toMatchObject({ status: 403, code: 'SAME_APPROVER' });
    }
    // Nor through Temporal directly, naming the maker as the decider.
    const handle = app.abono.client.workflow.getHandle(started.body.id);
    const forged = await handle.executeUpdate(recalculationApproval, { args: [{ approve: true, decidedBy: `${maker.id}:maker-admin` }] }).catch((err) => err);
    expect(`${forged?.message} ${forged?.cause?.message}`).toMatch(/SAME_APPROVER/);
    expect((await waitFor(app, started.body.id, ['AWAITING_APPROVAL'])).corrected).toBe(0);
    expect(await creditState(app, credit.id)).toEqual(drifted);

    const checked = await call(app, 'POST', `/v1/recalculations/${started.body.id}/approval`, { key: app.keys.admin, body: { approve: true } });
    expect(checked.status).toBe(200);
    const done = await waitFor(app, started.body.id, ['COMPLETED']);
    expect(done).toMatchObject({ corrected: 1, startedBy: `${maker.id}:maker-admin`, approvedBy: expect.stringMatching(/:test-admin$/) });

    const decision = await app.abono.ds.query(`SELECT actor, details FROM audit_log WHERE action = 'recalculation.decided' AND details->>'runId' = $1`, [started.body.id]);
    expect(decision).toHaveLength(1);
    expect(decision[0].actor).toMatch(/:test-admin$/);
    expect(decision[0].details).toMatchObject({ approved: true, startedBy: `${maker.id}:maker-admin`, decidedBy: expect.stringMatching(/:test-admin$/) });
    const corrections = await app.abono.ds.query(`SELECT details FROM audit_log WHERE action = 'credit.recalculated' AND details->>'runId' = $1`, [started.body.id]);
    expect(corrections).toHaveLength(1);
    expect(corrections[0].details).toMatchObject({ startedBy: `${maker.id}:maker-admin`, approvedBy: expect.stringMatching(/:test-admin$/) });
  });
});
