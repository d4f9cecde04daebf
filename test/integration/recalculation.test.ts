import { execFile } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { DataSource } from 'typeorm';
import { createApiKey } from '../../src/db/api-keys';
import { correctCredit, FIRST_ID, recalculateChunk } from '../../src/db/recalculation-chunks';
import { killHard, spawnWorker } from '../support/faults';
import { call, createCredit, freshDatabase, pay, startTestApp, TestApp } from '../support/harness';

const LEDGER_TABLES = ['credits', 'payments', 'payment_allocations'];

async function ledgerSnapshot(ds: DataSource) {
  const out: Record<string, string> = {};
  for (const t of LEDGER_TABLES) {
    const [r] = await ds.query(`SELECT count(*)::text AS n, coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') AS h FROM ${t} x`);
    out[t] = `${r.n}:${r.h}`;
  }
  return out;
}

/** REVIEW batches are started by a second admin key: the one that starts one may not decide it (four eyes). */
const makers = new WeakMap<TestApp, string>();
async function runBatch(app: TestApp, body: Record<string, unknown>) {
  if (!makers.has(app)) makers.set(app, (await createApiKey(app.abono.ds, 'batch-maker', 'admin')).key);
  const key = body.mode === 'REVIEW' ? makers.get(app)! : app.keys.admin;
  const started = await call(app, 'POST', '/v1/recalculations', { key, body });
  expect(started.status).toBe(202);
  expect(started.headers.get('location')).toBe(`/v1/recalculations/${started.body.id}`);
  return waitFor(app, started.body.id, ['COMPLETED', 'REJECTED', 'AWAITING_APPROVAL']);
}

async function waitFor(app: TestApp, id: string, statuses: string[], timeoutMs = 120_000) {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    const got = await call(app, 'GET', `/v1/recalculations/${id}?limit=1000`, { key: app.keys.viewer });
    if (got.status === 200 && statuses.includes(got.body.status)) return got.body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`recalculation ${id} did not reach ${statuses}`);
}

/** Makes a few credits drift in each way a bug or a hand edit could. */
async function corrupt(ds: DataSource, ids: { totals: string; count: string; allocation: string; paidInstallments: string }) {
  await ds.query(`UPDATE credits SET total_paid = total_paid + 10, balance = balance - 10 WHERE id = $1`, [ids.totals]);
  await ds.query(`UPDATE credits SET payment_count = payment_count + 1 WHERE id = $1`, [ids.count]);
  await ds.query(`UPDATE credits SET paid_installments = paid_installments + 1 WHERE id = $1`, [ids.paidInstallments]);
  await ds.query(
    `UPDATE payment_allocations SET principal = principal + 0.01, interest = interest - 0.01
      WHERE (payment_id, installment_number) = (SELECT payment_id, installment_number FROM payment_allocations WHERE credit_id = $1 LIMIT 1)`,
    [ids.allocation],
  );
}

describe('recalculation batches', () => {
  let app: TestApp;
  let credits: Array<{ id: string }>;
  beforeAll(async () => {
    app = await startTestApp({ RECALC_CHUNK_SIZE: '3', RECALC_PARALLELISM: '2' });
    credits = [];
    for (let i = 0; i < 10; i++) {
      const c = await createCredit(app, { scheduleType: i % 2 ? 'DECLINING' : 'FLAT', installments: 3 + i });
      credits.push(c);
      await pay(app, c.id, `${100 + i}.25`);
      if (i % 3 === 0) await pay(app, c.id, '150.00');
    }
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('dry run reports exactly the drifted credits and changes nothing; a correcting run fixes exactly them; a third finds nothing', async () => {
    const drifted = { totals: credits[1].id, count: credits[4].id, allocation: credits[6].id, paidInstallments: credits[9].id };
    await corrupt(app.abono.ds, drifted);
    const expected = Object.values(drifted).sort();

    const before = await ledgerSnapshot(app.abono.ds);
    const dry = await runBatch(app, { dryRun: true });
    expect(dry).toMatchObject({ mode: 'DRY_RUN', status: 'COMPLETED', scanned: 10, inconsistent: 4, corrected: 0, errors: 0 });
    expect(dry.inconsistentCredits.map((c: any) => c.creditId)).toEqual(expected);
    const totalsDrift = dry.inconsistentCredits.find((c: any) => c.creditId === drifted.totals).drift;
    expect(totalsDrift.map((d: any) => d.field)).toEqual(['totalPaid', 'balance']);
    expect(await ledgerSnapshot(app.abono.ds)).toEqual(before);

    const fix = await runBatch(app, { mode: 'CORRECT' });
    expect(fix).toMatchObject({ mode: 'CORRECT', status: 'COMPLETED', scanned: 10, inconsistent: 4, corrected: 4, errors: 0 });
    expect(fix.inconsistentCredits.map((c: any) => [c.creditId, c.status])).toEqual(expected.map((id) => [id, 'CORRECTED']));
    const audit = await app.abono.ds.query(`SELECT credit_id, actor, details FROM audit_log WHERE action = 'credit.recalculated' AND details->>'runId' = $1 ORDER BY credit_id`, [fix.id]);
    expect(audit.map((a: any) => a.credit_id)).toEqual(expected);
    const totalsAudit = audit.find((a: any) => a.credit_id === drifted.totals);
    expect(Number(totalsAudit.details.before.totalPaid) - Number(totalsAudit.details.after.totalPaid)).toBeCloseTo(10);
    expect(totalsAudit.actor).toMatch(/:test-admin$/);

    const again = await runBatch(app, {});
    expect(again).toMatchObject({ scanned: 10, inconsistent: 0, corrected: 0 });
  });

  it('a chunk retried after its first attempt corrected a credit and died counts that credit once, as found and corrected', async () => {
    const ds = app.abono.ds;
    const target = credits[2].id;
    await ds.query(`UPDATE credits SET total_paid = total_paid + 10, balance = balance - 10 WHERE id = $1`, [target]);
    const runId = `recalculation-retry-${randomUUID()}`;
    await ds.query(`INSERT INTO recalculation_runs (id, status, dry_run, mode) VALUES ($1, 'RUNNING', false, 'CORRECT')`, [runId]);
    const chunk = { runId, lo: FIRST_ID, hi: 'ffffffff-ffff-ffff-ffff-ffffffffffff', mode: 'CORRECT' as const, creditIds: [target], actor: 'test' };
    // The first attempt's work up to its death: the finding recorded and the credit corrected (each commits alone).
    await ds.query(`INSERT INTO recalculation_findings (run_id, credit_id, drift, status) VALUES ($1, $2, '[]', 'FOUND')`, [runId, target]);
    expect((await correctCredit(ds, target, { runId, actor: 'test' })).corrected).toBe(true);
    // The retry finds the credit consistent now, and still counts it.
    expect(await recalculateChunk(ds, chunk)).toEqual({ scanned: 1, inconsistent: 1, corrected: 1, errors: 0 });
    expect(await recalculateChunk(ds, chunk)).toEqual({ scanned: 1, inconsistent: 1, corrected: 1, errors: 0 });
  });

  it('review mode waits for an admin, then applies the corrections with the approver recorded', async () => {
    await corrupt(app.abono.ds, { totals: credits[0].id, count: credits[0].id, allocation: credits[3].id, paidInstallments: credits[3].id });
    const before = await ledgerSnapshot(app.abono.ds);
    const review = await runBatch(app, { mode: 'REVIEW' });
    expect(review).toMatchObject({ status: 'AWAITING_APPROVAL', inconsistent: 2, corrected: 0 });
    expect(await ledgerSnapshot(app.abono.ds)).toEqual(before);

    // A viewer or operator cannot approve; a second reviewer's answer after the decision is refused.
    expect((await call(app, 'POST', `/v1/recalculations/${review.id}/approval`, { key: app.keys.operator, body: { approve: true } })).status).toBe(403);
    const approved = await call(app, 'POST', `/v1/recalculations/${review.id}/approval`, { key: app.keys.admin, body: { approve: true } });
    expect(approved.status).toBe(200);
    const done = await waitFor(app, review.id, ['COMPLETED']);
    expect(done).toMatchObject({ corrected: 2, approvedBy: expect.stringMatching(/:test-admin$/) });
    const audit = await app.abono.ds.query(`SELECT details FROM audit_log WHERE action = 'credit.recalculated' AND details->>'runId' = $1`, [review.id]);
    expect(audit).toHaveLength(2);
    expect(audit.every((a: any) => /:test-admin$/.test(a.details.approvedBy))).toBe(true);
    const late = await call(app, 'POST', `/v1/recalculations/${review.id}/approval`, { key: app.keys.admin, body: { approve: false } });
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('RECALCULATION_NOT_AWAITING_APPROVAL');
  });

  it('a rejected review changes nothing', async () => {
    await corrupt(app.abono.ds, { totals: credits[2].id, count: credits[2].id, allocation: credits[2].id, paidInstallments: credits[2].id });
    const review = await runBatch(app, { mode: 'REVIEW', creditIds: [credits[2].id, credits[5].id] });
    expect(review).toMatchObject({ status: 'AWAITING_APPROVAL', scanned: 2, inconsistent: 1 });
    const before = await ledgerSnapshot(app.abono.ds);
    expect((await call(app, 'POST', `/v1/recalculations/${review.id}/approval`, { key: app.keys.admin, body: { approve: false } })).status).toBe(200);
    expect(await waitFor(app, review.id, ['REJECTED'])).toMatchObject({ corrected: 0 });
    expect(await ledgerSnapshot(app.abono.ds)).toEqual(before);
    await runBatch(app, { mode: 'CORRECT', creditIds: [credits[2].id] });
  });

  it('refuses bad requests with the field', async () => {
    const bad = await call(app, 'POST', '/v1/recalculations', { key: app.keys.admin, body: { creditIds: ['not-a-uuid'] } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('creditIds.0');
    expect((await call(app, 'GET', '/v1/recalculations/recalculation-nope', { key: app.keys.viewer })).status).toBe(404);
  });
});

describe('alerts', () => {
  it('posts the summary to the webhook when a batch finds drift', async () => {
    const received: any[] = [];
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d)).on('end', () => {
        received.push(JSON.parse(body));
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const app = await startTestApp({ ALERT_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts` });
    try {
      const c = await createCredit(app);
      await app.abono.ds.query(`UPDATE credits SET payment_count = 7 WHERE id = $1`, [c.id]);
      const run = await runBatch(app, { dryRun: true });
      for (let i = 0; i < 50 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(received).toEqual([expect.objectContaining({ event: 'recalculation.inconsistencies', runId: run.id, inconsistent: 1, scanned: 1 })]);
    } finally {
      await app.stop();
      hook.close();
    }
  });
});

describe('the nightly schedule', () => {
  it('exists after start with the configured time and never overlaps, and a triggered run completes', async () => {
    const scheduleId = `test-nightly-${randomUUID()}`;
    const fullScheduleId = `test-weekly-${randomUUID()}`;
    const app = await startTestApp({ RECALC_SCHEDULE_ENABLED: 'true', RECALC_SCHEDULE_ID: scheduleId, RECALC_FULL_SCHEDULE_ID: fullScheduleId, RECALC_SCHEDULE_TIME_ZONE: 'America/Mexico_City', RECALC_SCHEDULE_MODE: 'DRY_RUN' });
    try {
      const weekly = app.abono.client.schedule.getHandle(fullScheduleId);
      const weeklyDescribed = await weekly.describe();
      // Sunday 03:00: the FULL batch, beside the nightly INCREMENTAL one.
      expect(weeklyDescribed.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 3, end: 3, step: 1 }], dayOfWeek: [{ start: 'SUNDAY', end: 'SUNDAY', step: 1 }] });
      expect(weeklyDescribed.action).toMatchObject({ args: [{ scope: 'FULL', mode: 'DRY_RUN' }] });
      await weekly.delete();
      const handle = app.abono.client.schedule.getHandle(scheduleId);
      const described = await handle.describe();
      expect(described.action).toMatchObject({ args: [{ scope: 'INCREMENTAL', fullEveryDays: 7 }] });
      expect(described.spec.timezone).toBe('America/Mexico_City');
      expect(described.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 2, end: 2, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] });
      expect(described.policies.overlap).toBe('SKIP');
      await createCredit(app);
      await handle.trigger();
      let workflowId: string | undefined;
      for (let i = 0; i < 100 && !workflowId; i++) {
        workflowId = (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId;
        if (!workflowId) await new Promise((r) => setTimeout(r, 100));
      }
      expect(workflowId).toMatch(new RegExp(`^recalculation-${scheduleId}`));
      const result = await app.abono.client.workflow.getHandle(workflowId!).result();
      // Never verified, so due: the first INCREMENTAL night checks it.
      expect(result).toMatchObject({ status: 'COMPLETED', scanned: 1, mode: 'DRY_RUN', scope: 'INCREMENTAL' });
      expect((await call(app, 'GET', `/v1/recalculations/${workflowId}`, { key: app.keys.viewer })).body).toMatchObject({ status: 'COMPLETED', startedBy: 'schedule' });
      await handle.delete();
    } finally {
      await app.stop();
    }
  });
});

describe('a worker killed in the middle of a batch', () => {
  // Two worker processes each bundle the workflows at start (a minute when the machine is busy), and the
  // killed one's work waits out its timeouts: a deadline of seven minutes, not the suite's one (about 30 s when quiet).
  it('finishes from where it was, counting nothing twice', async () => {
    const databaseUrl = await freshDatabase();
    const taskQueue = `test-${randomUUID()}`;
    const api = await startTestApp({ DATABASE_URL: databaseUrl, TEMPORAL_TASK_QUEUE: taskQueue, RUN_WORKER: 'false' });
    const workerEnv = { DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS!, TEMPORAL_TASK_QUEUE: taskQueue, RECALC_SCHEDULE_ENABLED: 'false' };
    let worker = await spawnWorker(workerEnv);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 200; i++) ids.push((await createCredit(api, { installments: 6 })).id);
      const bad = ids.filter((_, i) => i % 25 === 0).sort();
      await api.abono.ds.query(`UPDATE credits SET payment_count = payment_count + 1 WHERE id = ANY($1::uuid[])`, [bad]);

      const started = await call(api, 'POST', '/v1/recalculations', { key: api.keys.admin, body: { mode: 'CORRECT', chunkSize: 5, parallelism: 2 } });
      for (const deadline = Date.now() + 120_000; ; ) {
        const [{ n }] = await api.abono.ds.query(`SELECT count(*)::int AS n FROM recalculation_chunks WHERE run_id = $1`, [started.body.id]);
        if (n >= 6) break;
        if (Date.now() > deadline) throw new Error(`the batch wrote ${n} chunks in 120 s`);
        await new Promise((r) => setTimeout(r, 10));
      }
      await killHard(worker);
      worker = await spawnWorker(workerEnv);
      // The killed worker's chunks come back after their heartbeat timeout (20 s) and retry backoff.
      const done = await waitFor(api, started.body.id, ['COMPLETED'], 180_000);
      expect(done).toMatchObject({ scanned: 200, inconsistent: bad.length, corrected: bad.length, errors: 0 });
      expect(done.inconsistentCredits.map((c: any) => c.creditId)).toEqual(bad);
      const [{ n }] = await api.abono.ds.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'credit.recalculated'`);
      expect(n).toBe(bad.length);
    } finally {
      await killHard(worker);
      await api.stop();
    }
  }, 420_000);
});

describe('npm run cli -- recalc', () => {
  it('starts a batch through the API, follows it and prints the summary and the drift', async () => {
    const app = await startTestApp();
    try {
      const c = await createCredit(app);
      await app.abono.ds.query(`UPDATE credits SET payment_count = 3 WHERE id = $1`, [c.id]);
      const root = path.resolve(__dirname, '../..');
      const run = (args: string[], env: Record<string, string>) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
          execFile(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...args], { cwd: root, env: { ...process.env, ...env } }, (err, stdout, stderr) =>
            resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
          ),
        );
      const env = { ABONO_API_URL: app.url, ABONO_API_KEY: app.keys.admin };
      const res = await run(['recalc', '--dry-run', '--credit', c.id, '--follow'], env);
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/started recalculation-/);
      expect(res.stdout).toMatch(/DRY_RUN.*COMPLETED/);
      expect(res.stdout).toContain(c.id);
      expect(res.stdout).toMatch(/paymentCount/);
      const forbidden = await run(['recalc', '--dry-run'], { ...env, ABONO_API_KEY: app.keys.viewer });
      expect(forbidden.code).toBe(1);
      expect(forbidden.stderr).toMatch(/403 FORBIDDEN/);
      expect((await run(['recalc', '--credit', 'x'], env)).code).toBe(2);
    } finally {
      await app.stop();
    }
  });
});
