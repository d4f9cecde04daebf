import { randomUUID } from 'node:crypto';
import { findInconsistentCredits } from '../support/consistency';
import { killHard, spawnWorker, waitForTerminal } from '../support/faults';
import { call, createCredit, freshDatabase, pay, startTestApp, TestApp } from '../support/harness';
import { csvFile, uploadFile, waitForBatch } from '../support/payment-files';

const count = async (app: TestApp, sql: string): Promise<number> => (await app.abono.ds.query(sql))[0].n;

/** `perCredit` lines for each credit, amounts 1.01 to 9.99 (well inside every balance), plus one refused line per credit. */
function fileFor(creditIds: string[], perCredit: number): { csv: string; applied: number; refused: number } {
  const rows = creditIds.flatMap((creditId, c) => [
    ...Array.from({ length: perCredit }, (_, i) => ({ creditId, amount: `${1 + ((c + i) % 9)}.${String(1 + ((c * 7 + i) % 98)).padStart(2, '0')}`, paymentDate: '2026-02-01' })),
    { creditId, amount: '999999.00', paymentDate: '2026-02-01' },
  ]);
  return { csv: csvFile(rows, ['creditId', 'amount', 'paymentDate']), applied: creditIds.length * perCredit, refused: creditIds.length };
}

async function expectExactlyOnce(app: TestApp, applied: number) {
  expect(await count(app, `SELECT count(*)::int AS n FROM payments WHERE ledger_seq IS NOT NULL`)).toBe(applied);
  expect(await count(app, `SELECT count(*)::int AS n FROM audit_log WHERE action = 'payment.applied'`)).toBe(applied);
  expect(await count(app, `SELECT sum(payment_count)::int AS n FROM credits`)).toBe(applied);
  expect((await findInconsistentCredits(app.abono.ds)).inconsistent).toEqual([]);
}

describe('a payment file under faults', () => {
  it('a worker SIGKILLed mid-batch: the batch finishes on another worker with every line applied exactly once', async () => {
    const databaseUrl = await freshDatabase();
    const taskQueue = `test-${randomUUID()}`;
    const api = await startTestApp({ DATABASE_URL: databaseUrl, TEMPORAL_TASK_QUEUE: taskQueue, RUN_WORKER: 'false', PAYMENT_FILE_CHUNK_LINES: '300', PAYMENT_FILE_PARALLELISM: '1' });
    const workerEnv = { DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS!, TEMPORAL_TASK_QUEUE: taskQueue };
    let worker = await spawnWorker(workerEnv);
    try {
      const credits = await Promise.all(Array.from({ length: 200 }, () => createCredit(api, { principal: '100000.00', installments: 24 })));
      const file = fileFor(credits.map((c) => c.id), 20);
      const upload = await uploadFile(api, file.csv, randomUUID());
      expect(upload.status).toBe(202);
      // Kill the worker once some chunks have committed and others have not.
      const deadline = Date.now() + 60_000;
      while ((await count(api, `SELECT count(*)::int AS n FROM payment_batch_chunks`)) < 2) {
        if (Date.now() > deadline) throw new Error('no chunk committed within 60 s');
        await new Promise((r) => setTimeout(r, 20));
      }
      await killHard(worker);
      expect(await count(api, `SELECT count(*)::int AS n FROM payment_batch_lines l WHERE NOT EXISTS (SELECT 1 FROM payment_batch_outcomes o WHERE o.batch_id = l.batch_id AND o.line_number = l.line_number)`)).toBeGreaterThan(0);
      worker = await spawnWorker(workerEnv);
      const done = await waitForBatch(api, upload.body.id, 180_000);
      expect(done).toMatchObject({ status: 'COMPLETED', counts: { APPLIED: file.applied, REJECTED: file.refused, PENDING: 0, DUPLICATE: 0 } });
      await expectExactlyOnce(api, file.applied);
    } finally {
      await killHard(worker);
      await api.stop();
    }
  }, 300_000);

  it('cancelled mid-file: it stops after the chunk in flight; what was applied stays applied and is listed', async () => {
    const app = await startTestApp({ PAYMENT_FILE_CHUNK_LINES: '40', PAYMENT_FILE_PARALLELISM: '1' });
    try {
      const credits = await Promise.all(Array.from({ length: 40 }, () => createCredit(app, { principal: '100000.00', installments: 24 })));
      const file = fileFor(credits.map((c) => c.id), 30);
      const upload = await uploadFile(app, file.csv, randomUUID());
      expect(upload.status).toBe(202);
      const id = upload.body.id;
      const chunks = () => count(app, `SELECT count(*)::int AS n FROM payment_batch_chunks WHERE batch_id = '${id}'`);
      const deadline = Date.now() + 120_000;
      while ((await chunks()) < 2) {
        if (Date.now() > deadline) throw new Error('no two chunks committed within 120 s');
        await new Promise((r) => setTimeout(r, 20));
      }
      const before = await chunks();
      const cancel = await call(app, 'POST', `/v1/payment-batches/${id}/cancellation`, { key: app.keys.operator, body: {} });
      expect(cancel.status).toBe(202);
      expect(cancel.headers.get('location')).toBe(`/v1/payment-batches/${id}`);
      const done = await waitForBatch(app, id, 180_000);
      expect(done.status).toBe('CANCELLED');
      // About 31 chunks in all (1,240 lines by 40); one was in flight when the cancellation came, and at most one
      // more can have started between counting and asking.
      expect(await chunks()).toBeLessThanOrEqual(before + 2);
      expect(done.counts.PENDING).toBeGreaterThan(0);
      expect(done.counts.APPLIED + done.counts.REJECTED + done.counts.PENDING).toBe(done.lineCount);
      expect(done.counts.APPLIED).toBeGreaterThan(0);
      // What was applied stays applied: one payment per APPLIED line, and every credit equals its recomputation.
      await expectExactlyOnce(app, done.counts.APPLIED);
      const listed: string[] = [];
      for (let after = 0; ; ) {
        const page = (await call(app, 'GET', `/v1/payment-batches/${id}/lines?status=APPLIED&limit=200&after=${after}`, { key: app.keys.viewer })).body;
        listed.push(...page.lines.map((l: { paymentId: string }) => l.paymentId));
        if (page.next === null) break;
        after = page.next;
      }
      const applied: Array<{ id: string }> = await app.abono.ds.query(`SELECT id FROM payments WHERE ledger_seq IS NOT NULL`);
      expect(listed.sort()).toEqual(applied.map((p) => p.id).sort());
      // Nothing more happens to it: a second cancellation is refused, and the rest stays PENDING.
      const again = await call(app, 'POST', `/v1/payment-batches/${id}/cancellation`, { key: app.keys.operator, body: {} });
      expect([again.status, again.body.code]).toEqual([409, 'BATCH_NOT_RUNNING']);
      expect((await waitForBatch(app, id)).counts).toEqual(done.counts);
    } finally {
      await app.stop();
    }
  }, 300_000);

  it("single payments to the file's credits while it runs: both apply, each once, every credit exact", async () => {
    const app = await startTestApp({ PAYMENT_FILE_CHUNK_LINES: '200' });
    try {
      const credits = await Promise.all(Array.from({ length: 40 }, () => createCredit(app, { principal: '100000.00', installments: 24 })));
      const file = fileFor(credits.map((c) => c.id), 50);
      const upload = await uploadFile(app, file.csv, randomUUID());
      expect(upload.status).toBe(202);
      const singles = await Promise.all(credits.flatMap((c) => [pay(app, c.id, '12.34'), pay(app, c.id, '0.66')]));
      expect(singles.map((s) => s.status).every((s) => s === 201 || s === 202)).toBe(true);
      const done = await waitForBatch(app, upload.body.id, 180_000);
      expect(done.counts).toMatchObject({ APPLIED: file.applied, REJECTED: file.refused });
      const statuses = await waitForTerminal(app.abono.ds, singles.map((s) => s.body.id ?? s.body.paymentId), 120_000);
      expect([...statuses.values()].every((s) => s === 'APPLIED')).toBe(true);
      await expectExactlyOnce(app, file.applied + singles.length);
      expect(await count(app, `SELECT count(DISTINCT total_paid)::int AS n FROM credits`)).toBeGreaterThan(1);
    } finally {
      await app.stop();
    }
  }, 300_000);
});
