import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { snapshot } from '../support/db';
import { call, createCredit, pay, startTestApp, TestApp } from '../support/harness';

/**
 * A start made on Temporal directly, with no API key and no recorded request (the probe used
 * `temporal workflow execute`), moves no money: it ends with UNRECORDED_REQUEST and an audit
 * entry naming the workflow and run. Starts made by the API and by the schedule still run.
 */
describe('only recorded requests move money', () => {
  let app: TestApp;
  let connection: Connection;
  let forger: Client;
  const scheduleId = `sched-${randomUUID()}`;

  beforeAll(async () => {
    app = await startTestApp({ RECALC_SCHEDULE_ENABLED: 'true', RECALC_SCHEDULE_ID: scheduleId, RECALC_SCHEDULE_CRON: '0 3 1 1 *', RECALC_SCHEDULE_MODE: 'DRY_RUN' });
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    forger = new Client({ connection, namespace: 'default' });
  });
  afterAll(async () => {
    await forger?.schedule.getHandle(scheduleId).delete().catch(() => undefined);
    await connection?.close();
    await app?.stop();
  });

  const refusalEntry = async (workflowId: string, runId: string) =>
    app.abono.ds.query(`SELECT action, workflow_id, run_id, actor, details FROM audit_log WHERE action = 'workflow.start_refused' AND workflow_id = $1 AND run_id = $2`, [workflowId, runId]);

  it('refuses a payment started on Temporal directly, and one whose input differs from its recorded request', async () => {
    const credit = await createCredit(app);
    const before = await snapshot(app.abono.ds);
    const paymentId = randomUUID();
    const workflowId = `payment-${paymentId}`;
    const handle = await forger.workflow.start('paymentWorkflow', {
      taskQueue: app.taskQueue,
      workflowId,
      args: [{ paymentId, creditId: credit.id, amount: '7.00', paymentDate: '2026-02-01', reference: null, idempotencyKey: 'forged', actor: 'forged:nobody' }],
    });
    expect(await handle.result()).toMatchObject({ status: 'REJECTED', paymentId, refusal: { code: 'UNRECORDED_REQUEST' } });
    const after = await snapshot(app.abono.ds);
    expect({ ...after, audit_log: '' }).toEqual({ ...before, audit_log: '' });
    const entry = await refusalEntry(workflowId, handle.firstExecutionRunId);
    expect(entry).toHaveLength(1);
    expect(entry[0].details).toMatchObject({ code: 'UNRECORDED_REQUEST', workflowType: 'paymentWorkflow', claimedActor: 'forged:nobody' });

    // A recorded request replayed with a bigger amount under another workflow id.
    const key = randomUUID();
    const real = await pay(app, credit.id, '10.00', {}, key);
    expect(real.status).toBe(201);
    const recorded = (await app.abono.ds.query(`SELECT request FROM idempotency_keys WHERE key = $1`, [key]))[0].request;
    const balance = async () => (await app.abono.ds.query(`SELECT balance::text FROM credits WHERE id = $1`, [credit.id]))[0].balance;
    const balanceBefore = await balance();
    const tampered = await forger.workflow.start('paymentWorkflow', { taskQueue: app.taskQueue, workflowId: `payment-${randomUUID()}`, args: [{ ...recorded, amount: '900.00' }] });
    expect(await tampered.result()).toMatchObject({ status: 'REJECTED', refusal: { code: 'UNRECORDED_REQUEST' } });
    expect(await balance()).toBe(balanceBefore);
  });

  it('refuses a reversal started on Temporal directly', async () => {
    const credit = await createCredit(app);
    const paid = await pay(app, credit.id, '50.00');
    expect(paid.status).toBe(201);
    const before = await snapshot(app.abono.ds);
    const workflowId = `reversal-${paid.body.id}`;
    const handle = await forger.workflow.start('reversalWorkflow', { taskQueue: app.taskQueue, workflowId, args: [{ paymentId: paid.body.id, reason: 'forged', actor: 'forged:nobody' }] });
    expect(await handle.result()).toMatchObject({ status: 'REFUSED', refusal: { code: 'UNRECORDED_REQUEST' } });
    const after = await snapshot(app.abono.ds);
    expect({ ...after, audit_log: '' }).toEqual({ ...before, audit_log: '' });
    expect(await refusalEntry(workflowId, handle.firstExecutionRunId)).toHaveLength(1);
  });

  it('concurrent reversals of one payment through the API: one reverses it, the others are told it was requested', async () => {
    const credit = await createCredit(app);
    const paid = await pay(app, credit.id, '20.00');
    expect(paid.status).toBe(201);
    const answers = await Promise.all(
      ['bounced', 'duplicate', 'customer asked'].map((reason) => call(app, 'POST', `/v1/payments/${paid.body.id}/reversal`, { key: app.keys.operator, body: { reason } })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409]);
    const status = await app.abono.ds.query(`SELECT status FROM payments WHERE id = $1`, [paid.body.id]);
    expect(status[0].status).toBe('REVERSED');
    const refused = await app.abono.ds.query(`SELECT 1 FROM audit_log WHERE action = 'workflow.start_refused' AND workflow_id = $1`, [`reversal-${paid.body.id}`]);
    expect(refused).toHaveLength(0);
  });

  it('refuses a correcting recalculation started on Temporal directly, also one posing as a continued run', async () => {
    const credit = await createCredit(app);
    await app.abono.ds.query(`UPDATE credits SET payment_count = payment_count + 1 WHERE id = $1`, [credit.id]);
    const before = await snapshot(app.abono.ds);
    const input = { mode: 'CORRECT', creditIds: [credit.id], chunkSize: 10, parallelism: 1, startedBy: 'forged:nobody' };
    const carried = { runId: 'x', mode: 'CORRECT', status: 'RUNNING', phase: 'SCANNING', scanned: 0, inconsistent: 0, corrected: 0, errors: 0, position: '00000000-0000-0000-0000-000000000000', startedAtMs: 0, creditsPerSecond: 0 };
    for (const args of [input, { ...input, carried }]) {
      const workflowId = `recalculation-${randomUUID()}`;
      const handle = await forger.workflow.start('recalculationWorkflow', { taskQueue: app.taskQueue, workflowId, args: [args] });
      expect(await handle.result()).toMatchObject({ status: 'REJECTED', corrected: 0 });
      expect(await refusalEntry(workflowId, handle.firstExecutionRunId)).toHaveLength(1);
    }
    const after = await snapshot(app.abono.ds);
    expect({ ...after, audit_log: '' }).toEqual({ ...before, audit_log: '' });
  });

  it('runs what the API and the schedule start', async () => {
    const credit = await createCredit(app);
    const started = await call(app, 'POST', '/v1/recalculations', { key: app.keys.admin, body: { mode: 'DRY_RUN', creditIds: [credit.id] } });
    expect(started.status).toBe(202);
    expect(await app.abono.client.workflow.getHandle(started.body.id).result()).toMatchObject({ status: 'COMPLETED', scanned: 1 });

    await forger.schedule.getHandle(scheduleId).trigger();
    const deadline = Date.now() + 30_000;
    let runs: Array<{ id: string; status: string }> = [];
    while (Date.now() < deadline) {
      runs = await app.abono.ds.query(`SELECT id, status FROM recalculation_runs WHERE id LIKE $1`, [`recalculation-${scheduleId}-%`]);
      if (runs.some((r) => r.status === 'COMPLETED')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(runs.map((r) => r.status)).toEqual(['COMPLETED']);
    const refused = await app.abono.ds.query(`SELECT 1 FROM audit_log WHERE action = 'workflow.start_refused' AND workflow_id LIKE $1`, [`recalculation-${scheduleId}-%`]);
    expect(refused).toHaveLength(0);
  });
});
