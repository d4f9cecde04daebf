import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { checkChunk } from '../../src/db/chunk-check';
import { chooseIncrementalScope, dueBefore, forgetScope, recordProven } from '../../src/db/verification-marks';
import { FIRST_ID } from '../../src/domain/keyset';
import { call, createCredit, pay, startTestApp, TestApp } from '../support/harness';

const LAST_ID = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

async function runBatch(app: TestApp, body: Record<string, unknown>) {
  const started = await call(app, 'POST', '/v1/recalculations', { key: app.keys.admin, body });
  expect(started.status).toBe(202);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const got = await call(app, 'GET', `/v1/recalculations/${started.body.id}?limit=1000`, { key: app.keys.viewer });
    if (got.status === 200 && got.body.status === 'COMPLETED') return got.body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`recalculation ${started.body.id} did not complete`);
}

const drifted = (batch: { inconsistentCredits: Array<{ creditId: string }> }) => batch.inconsistentCredits.map((c) => c.creditId).sort();
const mark = async (ds: DataSource, creditId: string): Promise<string | null> =>
  (await ds.query(`SELECT change_seq FROM credit_changes WHERE credit_id = $1`, [creditId]))[0]?.change_seq ?? null;
/** A hand edit (or a bug) that went around the ledger: drift without a mark. */
const plantDrift = (ds: DataSource, creditId: string) => ds.query(`UPDATE credits SET total_paid = total_paid + 10, balance = balance - 10 WHERE id = $1`, [creditId]);
/** One night passes for every verification. */
const nightPasses = (ds: DataSource) => ds.query(`UPDATE credit_verifications SET verified_at = verified_at - interval '1 day'`);

describe('verification in proportion to the day’s work', () => {
  let app: TestApp;
  let ds: DataSource;
  const credits: string[] = [];
  beforeAll(async () => {
    app = await startTestApp({ RECALC_CHUNK_SIZE: '3', RECALC_PARALLELISM: '2', RECALC_FULL_EVERY_DAYS: '7' });
    ds = app.abono.ds;
    for (let i = 0; i < 8; i++) {
      const c = await createCredit(app, { scheduleType: i % 2 ? 'DECLINING' : 'FLAT', installments: 3 + i });
      credits.push(c.id);
      expect((await pay(app, c.id, `${100 + i}.25`)).status).toBe(201);
    }
  });
  afterAll(() => app?.stop());

  it('marks a credit in the same transaction as every write of its state: creation, payment, reversal, correction', async () => {
    const c = await createCredit(app);
    // Never verified, so changed since its last verification: the next night proves it.
    const created = await mark(ds, c.id);
    expect(created).not.toBeNull();
    const paid = await pay(app, c.id, '100.00');
    const afterPayment = await mark(ds, c.id);
    expect(BigInt(afterPayment!)).toBeGreaterThan(BigInt(created!));
    const reversed = await call(app, 'POST', `/v1/payments/${paid.body.id}/reversal`, { key: app.keys.operator, body: { reason: 'bounced' } });
    expect(reversed.status).toBe(200);
    const afterReversal = await mark(ds, c.id);
    expect(BigInt(afterReversal!)).toBeGreaterThan(BigInt(afterPayment!));
    await plantDrift(ds, c.id);
    const corrected = await runBatch(app, { mode: 'CORRECT', creditIds: [c.id] });
    expect(corrected).toMatchObject({ inconsistent: 1, corrected: 1 });
    // The correction is a write of credit state: marked again, so the next night proves it.
    expect(BigInt((await mark(ds, c.id))!)).toBeGreaterThan(BigInt(afterReversal!));
  });

  it('finds drift on a changed credit the same night and on an unchanged one within the rolling window', async () => {
    const [unchanged, changed] = [credits[0], credits[1]];
    let book = (await call(app, 'GET', '/v1/verification?days=7', { key: app.keys.viewer })).body;
    expect(book.neverVerified).toBeGreaterThan(0);
    const full = await runBatch(app, { mode: 'DRY_RUN', scope: 'FULL' });
    expect(full).toMatchObject({ scope: 'FULL', inconsistent: 0 });
    book = (await call(app, 'GET', '/v1/verification?days=7', { key: app.keys.viewer })).body;
    expect(book).toMatchObject({ neverVerified: 0, verifiedInLastDays: book.credits, changedSinceVerification: 0 });
    expect(book.oldestVerification.runId).toBe(full.id);

    await plantDrift(ds, unchanged);
    expect((await pay(app, changed, '10.00')).status).toBe(201);
    await plantDrift(ds, changed);

    // Night 1: only the changed credit is checked, and its drift is found at once.
    await nightPasses(ds);
    const night1 = await runBatch(app, { mode: 'DRY_RUN', scope: 'INCREMENTAL' });
    expect(night1).toMatchObject({ scope: 'INCREMENTAL', scanned: 1 });
    expect(drifted(night1)).toEqual([changed]);

    // Nights 2..7: the unchanged credit's drift is found when its verification comes due, within 7 nights.
    let foundOnNight = 0;
    for (let night = 2; night <= 7 && !foundOnNight; night++) {
      await nightPasses(ds);
      const batch = await runBatch(app, { mode: 'DRY_RUN', scope: 'INCREMENTAL' });
      if (drifted(batch).includes(unchanged)) foundOnNight = night;
    }
    expect(foundOnNight).toBeGreaterThan(1);
    expect(foundOnNight).toBeLessThanOrEqual(7);
    // Drifted credits are not proven: the still-drifted changed credit stays marked.
    expect(await mark(ds, changed)).not.toBeNull();
  });

  it('chooses the rolling slice oldest first a page at a time, also when a page ends inside one verification time', async () => {
    const book: Array<{ id: string }> = await ds.query(`SELECT id FROM credits ORDER BY id`);
    const runId = `recalculation-${randomUUID()}`;
    await ds.query(`INSERT INTO recalculation_runs (id, mode, status, dry_run) VALUES ($1, 'DRY_RUN', 'RUNNING', true)`, [runId]);
    // Every credit proven by one statement (one verification time, to the microsecond), long ago, and none marked.
    await recordProven(ds, `recalculation-${randomUUID()}`, { creditIds: book.map((c) => c.id), changeSeqs: book.map(() => null) });
    await ds.query(`UPDATE credit_verifications SET verified_at = verified_at - interval '30 days'`);
    const marks: Array<{ credit_id: string; change_seq: string }> = await ds.query(`SELECT credit_id, change_seq FROM credit_changes`);
    await ds.query(`DELETE FROM credit_changes`);
    try {
      const chosen = await chooseIncrementalScope(ds, runId, dueBefore(new Date(), 7), () => {}, 3);
      expect(chosen).toBe(book.length);
    } finally {
      await ds.query(`INSERT INTO credit_changes (credit_id, change_seq) SELECT * FROM unnest($1::uuid[], $2::bigint[])`, [marks.map((m) => m.credit_id), marks.map((m) => m.change_seq)]);
      await forgetScope(ds, runId);
    }
  });

  it('keeps a credit marked when a payment lands while the batch reads it', async () => {
    const c = await createCredit(app);
    expect((await pay(app, c.id, '50.00')).status).toBe(201);
    // The batch reads the credit (with the mark it had then) …
    const read = await checkChunk(ds, { lo: FIRST_ID, hi: LAST_ID, creditIds: [c.id] }, 0);
    expect(read.proven.creditIds).toEqual([c.id]);
    // … a payment lands before the batch records what it proved …
    expect((await pay(app, c.id, '25.00')).status).toBe(201);
    await recordProven(ds, `recalculation-${randomUUID()}`, read.proven);
    // … so the credit is verified as of the read, and still marked for the payment the batch never saw.
    expect(await mark(ds, c.id)).not.toBeNull();
    expect(BigInt((await mark(ds, c.id))!)).toBeGreaterThan(BigInt(read.proven.changeSeqs[0]!));
    // Without a racing write the same step clears the mark.
    const again = await checkChunk(ds, { lo: FIRST_ID, hi: LAST_ID, creditIds: [c.id] }, 0);
    await recordProven(ds, `recalculation-${randomUUID()}`, again.proven);
    expect(await mark(ds, c.id)).toBeNull();
  });

  it('npm run cli -- verification prints what the API answers, and exits 1 while a credit is unproven', async () => {
    await createCredit(app); // never verified
    const root = path.resolve(__dirname, '../..');
    const env = { ...process.env, ABONO_API_URL: app.url, ABONO_API_KEY: app.keys.viewer };
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string }>((resolve) =>
        execFile(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...args], { cwd: root, env }, (err, stdout) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout }),
        ),
      );
    const json = await run(['verification', '--days', '7', '--json']);
    const api = (await call(app, 'GET', '/v1/verification?days=7', { key: app.keys.viewer })).body;
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual(api);
    const table = await run(['verification']);
    expect(table.stdout).toContain(`never verified: ${api.neverVerifiedCreditIds.join(' ')}`);
    expect((await run(['verification', '--days', 'x'])).code).toBe(2);
  });

  it('refuses an INCREMENTAL batch that names its credits, changing nothing', async () => {
    const res = await call(app, 'POST', '/v1/recalculations', { key: app.keys.admin, body: { scope: 'INCREMENTAL', creditIds: [credits[0]] } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('scope');
  });
});
