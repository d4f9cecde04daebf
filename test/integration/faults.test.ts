import { randomUUID } from 'node:crypto';
import { findInconsistentCredits } from '../support/consistency';
import { paymentIdForKey } from '../../src/client/payments';
import { snapshot } from '../support/db';
import { killHard, spawnWorker, startTcpProxy, waitForTerminal } from '../support/faults';
import { call, createCredit, freshDatabase, pay, startTestApp, TestApp } from '../support/harness';

const auditOf = async (app: TestApp, paymentId: string) =>
  (await call(app, 'GET', `/v1/payments/${paymentId}`, { key: app.keys.viewer })).body;

describe('a step that fails for good runs the compensation', () => {
  it.each([
    ['apply', ['payment.compensated']],
    ['audit', ['payment.applied', 'payment.compensated']],
  ])('failing %s: the payment ends FAILED with its audit trail and the credit exactly as before', async (step, actions) => {
    const app = await startTestApp({}, [step]);
    try {
      const credit = await createCredit(app);
      const before = (await call(app, 'GET', `/v1/credits/${credit.id}`, { key: app.keys.viewer })).body;
      const res = await pay(app, credit.id, '450.00');
      expect(res.status).toBe(500);
      expect(res.body).toMatchObject({ code: 'PAYMENT_FAILED', paymentStatus: 'FAILED' });
      const after = (await call(app, 'GET', `/v1/credits/${credit.id}`, { key: app.keys.viewer })).body;
      expect({ ...after, updatedAt: null }).toEqual({ ...before, updatedAt: null });
      const payment = await auditOf(app, res.body.paymentId);
      expect(payment.status).toBe('FAILED');
      expect(payment.reason).toContain(`injected fault in ${step}`);
      expect(payment.allocations).toEqual([]);
      expect(payment.audit.map((a: any) => a.action)).toEqual(actions);
      expect((await findInconsistentCredits(app.abono.ds)).inconsistent).toEqual([]);
    } finally {
      await app.stop();
    }
  });
});

describe('with every worker down', () => {
  it('accepts payments (202), lets an operator cancel one, and applies the rest when a worker returns', async () => {
    const databaseUrl = await freshDatabase();
    const taskQueue = `test-${randomUUID()}`;
    const api = await startTestApp({ DATABASE_URL: databaseUrl, TEMPORAL_TASK_QUEUE: taskQueue, RUN_WORKER: 'false', PAYMENT_WAIT_MS: '500' });
    try {
      const credit = await createCredit(api);
      const keys = [randomUUID(), randomUUID(), randomUUID()];
      const answers = await Promise.all(keys.map((k) => pay(api, credit.id, '100.00', {}, k)));
      expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
      expect(answers[0].headers.get('location')).toBe(`/v1/payments/${paymentIdForKey(keys[0])}`);
      expect((await auditOf(api, paymentIdForKey(keys[0]))).status).toBe('RECEIVED');

      // An operator cancels one from the Temporal UI (here: the same API call the UI makes).
      await api.abono.client.workflow.getHandle(`payment-${paymentIdForKey(keys[2])}`).cancel();

      const worker = await startTestApp({ DATABASE_URL: databaseUrl, TEMPORAL_TASK_QUEUE: taskQueue, RUN_API: 'false' });
      try {
        const statuses = await waitForTerminal(api.abono.ds, keys.map(paymentIdForKey));
        expect(keys.map((k) => statuses.get(paymentIdForKey(k)))).toEqual(['APPLIED', 'APPLIED', 'FAILED']);
        const cancelled = await auditOf(api, paymentIdForKey(keys[2]));
        expect(cancelled.reason).toBe('cancelled by an operator');
        const after = (await call(api, 'GET', `/v1/credits/${credit.id}`, { key: api.keys.viewer })).body;
        expect(after).toMatchObject({ totalPaid: '200.00', paymentCount: 2 });
        // The same key again now answers with the outcome.
        expect((await pay(api, credit.id, '100.00', {}, keys[0])).status).toBe(201);
      } finally {
        await worker.stop();
      }
    } finally {
      await api.stop();
    }
  });
});

describe('a payment workflow terminated by an operator', () => {
  it('is started again by resending its key, and applied once', async () => {
    const databaseUrl = await freshDatabase();
    const taskQueue = `test-${randomUUID()}`;
    const api = await startTestApp({ DATABASE_URL: databaseUrl, TEMPORAL_TASK_QUEUE: taskQueue, RUN_WORKER: 'false', PAYMENT_WAIT_MS: '300' });
    try {
      const credit = await createCredit(api);
      const key = randomUUID();
      expect((await pay(api, credit.id, '75.00', {}, key)).status).toBe(202);
      await api.abono.client.workflow.getHandle(`payment-${paymentIdForKey(key)}`).terminate('operator test');
      const worker = await startTestApp({ DATABASE_URL: databaseUrl, TEMPORAL_TASK_QUEUE: taskQueue, RUN_API: 'false' });
      try {
        const again = await call(api, 'POST', '/v1/payments', {
          key: api.keys.operator,
          headers: { 'idempotency-key': key, 'content-type': 'application/json' },
          body: { creditId: credit.id, amount: '75.00', paymentDate: '2026-02-01' },
        });
        const statuses = await waitForTerminal(api.abono.ds, [paymentIdForKey(key)]);
        expect([again.status === 201 || again.status === 202, statuses.get(paymentIdForKey(key))]).toEqual([true, 'APPLIED']);
        const after = (await call(api, 'GET', `/v1/credits/${credit.id}`, { key: api.keys.viewer })).body;
        expect(after).toMatchObject({ totalPaid: '75.00', paymentCount: 1 });
      } finally {
        await worker.stop();
      }
    } finally {
      await api.stop();
    }
  });
});

describe('a worker process killed with SIGKILL while 100 payments are in flight', () => {
  // Two worker processes each bundle the workflows at start (seconds when the machine is busy), and the
  // killed one's work waits out its timeouts: a deadline of three minutes, not the suite's one.
  it('loses nothing and applies nothing twice once a worker is back', async () => {
    const databaseUrl = await freshDatabase();
    const taskQueue = `test-${randomUUID()}`;
    const api = await startTestApp({ DATABASE_URL: databaseUrl, TEMPORAL_TASK_QUEUE: taskQueue, RUN_WORKER: 'false', PAYMENT_WAIT_MS: '200' });
    const workerEnv = { DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS!, TEMPORAL_TASK_QUEUE: taskQueue };
    let worker = await spawnWorker(workerEnv);
    try {
      const credits = await Promise.all(Array.from({ length: 10 }, () => createCredit(api, { principal: '100000.00', installments: 24 })));
      const keys = Array.from({ length: 100 }, () => randomUUID());
      const submitted = Promise.all(keys.map((k, i) => pay(api, credits[i % 10].id, `${(i % 7) + 1}0.01`, {}, k)));
      // Kill the worker once some payments have been applied and others are still arriving.
      for (;;) {
        const [{ n }] = await api.abono.ds.query(`SELECT count(*)::int AS n FROM payments WHERE status = 'APPLIED'`);
        if (n >= 10) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await killHard(worker);
      const answers = await submitted;
      expect(answers.every((a) => a.status === 201 || a.status === 202)).toBe(true);
      worker = await spawnWorker(workerEnv);

      const ids = keys.map(paymentIdForKey);
      const statuses = await waitForTerminal(api.abono.ds, ids);
      expect([...statuses.values()].every((s) => s === 'APPLIED')).toBe(true);
      // Exactly one ledger entry per payment, and every credit equal to its recomputation.
      const [{ entries }] = await api.abono.ds.query(`SELECT count(*)::int AS entries FROM payments WHERE ledger_seq IS NOT NULL`);
      expect(entries).toBe(100);
      const [{ applied }] = await api.abono.ds.query(`SELECT count(*)::int AS applied FROM audit_log WHERE action = 'payment.applied'`);
      expect(applied).toBe(100);
      const [{ count }] = await api.abono.ds.query(`SELECT sum(payment_count)::int AS count FROM credits`);
      expect(count).toBe(100);
      expect((await findInconsistentCredits(api.abono.ds)).inconsistent).toEqual([]);
    } finally {
      await killHard(worker);
      await api.stop();
    }
  }, 180_000);
});

describe('the database refusing connections for several seconds', () => {
  it('the activities retry and every payment is applied once', async () => {
    const databaseUrl = await freshDatabase();
    const taskQueue = `test-${randomUUID()}`;
    const proxy = await startTcpProxy();
    const proxied = new URL(databaseUrl);
    proxied.port = String(proxy.port);
    // A wait budget long enough for a fresh worker's first payment (its workflow sandbox warms up).
    const api = await startTestApp({ DATABASE_URL: databaseUrl, TEMPORAL_TASK_QUEUE: taskQueue, RUN_WORKER: 'false', PAYMENT_WAIT_MS: '3000' });
    const worker = await startTestApp({ DATABASE_URL: proxied.toString(), TEMPORAL_TASK_QUEUE: taskQueue, RUN_API: 'false' });
    try {
      const credit = await createCredit(api);
      expect((await pay(api, credit.id, '1.00')).status).toBe(201);

      await proxy.down();
      const keys = Array.from({ length: 20 }, () => randomUUID());
      const answers = await Promise.all(keys.map((k) => pay(api, credit.id, '10.00', {}, k)));
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
      await new Promise((r) => setTimeout(r, 5000));
      const stillWaiting: Array<{ n: number }> = await api.abono.ds.query(`SELECT count(*)::int AS n FROM payments WHERE status = 'APPLIED'`);
      expect(stillWaiting[0].n).toBe(1);
      await proxy.up();

      const statuses = await waitForTerminal(api.abono.ds, keys.map(paymentIdForKey));
      expect([...statuses.values()]).toEqual(Array(20).fill('APPLIED'));
      const after = (await call(api, 'GET', `/v1/credits/${credit.id}`, { key: api.keys.viewer })).body;
      expect(after).toMatchObject({ totalPaid: '201.00', paymentCount: 21 });
      expect((await findInconsistentCredits(api.abono.ds)).inconsistent).toEqual([]);
    } finally {
      await worker.stop();
      await api.stop();
      await proxy.stop();
    }
  });

  it('the API answers 503 while its own database is away, and records nothing half-way', async () => {
    const databaseUrl = await freshDatabase();
    const proxy = await startTcpProxy();
    const proxied = new URL(databaseUrl);
    proxied.port = String(proxy.port);
    const app = await startTestApp({ DATABASE_URL: proxied.toString() });
    try {
      const credit = await createCredit(app);
      const before = await snapshot(app.abono.ds);
      await proxy.down();
      const res = await pay(app, credit.id, '10.00');
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('DATABASE_UNAVAILABLE');
      const ready = await call(app, 'GET', '/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.checks.database).toMatch(/unreachable/);
      await proxy.up();
      expect(await snapshot(app.abono.ds)).toEqual(before);
    } finally {
      await app.stop();
      await proxy.stop();
    }
  });
});

describe('Temporal unreachable', () => {
  it('the API answers 503, records nothing, and the same key goes through once Temporal is back', async () => {
    const proxy = await startTcpProxy(Number(process.env.TEMPORAL_ADDRESS!.split(':').pop()));
    const app = await startTestApp({ TEMPORAL_ADDRESS: `127.0.0.1:${proxy.port}`, PAYMENT_WAIT_MS: '1500' });
    try {
      const credit = await createCredit(app);
      expect((await pay(app, credit.id, '10.00')).status).toBe(201);
      const before = await snapshot(app.abono.ds);
      await proxy.down();
      const key = randomUUID();
      const res = await pay(app, credit.id, '20.00', {}, key);
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('TEMPORAL_UNAVAILABLE');
      expect(res.headers.get('retry-after')).toBeTruthy();
      const ready = await call(app, 'GET', '/ready');
      expect([ready.status, ready.body.checks.temporal]).toEqual([503, expect.stringMatching(/unreachable/)]);
      expect(await snapshot(app.abono.ds)).toEqual(before);

      await proxy.up();
      // The clients reconnect with their own backoff: retry as a client would, with the same key.
      let again = await pay(app, credit.id, '20.00', {}, key);
      for (let i = 0; i < 100 && ![201, 202].includes(again.status); i++) {
        await new Promise((r) => setTimeout(r, 500));
        again = await pay(app, credit.id, '20.00', {}, key);
      }
      expect([201, 202]).toContain(again.status);
      expect((await waitForTerminal(app.abono.ds, [paymentIdForKey(key)], 90_000)).get(paymentIdForKey(key))).toBe('APPLIED');
      const after = (await call(app, 'GET', `/v1/credits/${credit.id}`, { key: app.keys.viewer })).body;
      expect(after).toMatchObject({ totalPaid: '30.00', paymentCount: 2 });
    } finally {
      await proxy.up();
      await app.stop();
      await proxy.stop();
    }
  }, 180_000);
});
