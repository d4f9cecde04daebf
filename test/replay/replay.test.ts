// Replay tests guard workflow determinism: histories recorded from real runs of every path
// (applied, rejected, compensated, reversed; recalculation batches FULL and INCREMENTAL; an import; a payment file
// and its reversal, several chunks each) must replay with the current workflow code.
// A change that would break running workflows fails here. To re-record after an intended,
// versioned change: RECORD_HISTORIES=1 npx jest test/replay
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../../src/worker/worker';
import { randomUUID } from 'node:crypto';
import { paymentBatchWorkflowId } from '../../src/workflows/types';
import { call, createCredit, pay, startTestApp, TestApp } from '../support/harness';
import { csvFile, uploadFile, waitForBatch } from '../support/payment-files';

const DIR = path.join(__dirname, 'histories');

async function replay(name: string, json: unknown) {
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, historyFromJSON(json), name);
}

describe('recorded workflow histories replay with the current code', () => {
  const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json'));

  it('has a recorded history for each path', () => {
    // recalculation-full.json was recorded before batches had scopes: FULL batches started then replay unchanged.
    // payment-batch*.json were recorded when a file's chunks ran in rounds (all of a round's, then the next's).
    expect(files.sort()).toEqual([
      'import.json',
      'payment-applied.json',
      'payment-batch-reversal.json',
      'payment-batch.json',
      'payment-compensated.json',
      'payment-rejected.json',
      'recalculation-full.json',
      'recalculation-incremental.json',
      'recalculation-review.json',
      'reversal.json',
    ]);
  });

  it.each(files)('%s', async (file) => {
    await expect(replay(file, JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')))).resolves.toBeUndefined();
  });
});

describe('fresh histories of each path replay too', () => {
  let app: TestApp;
  let failing: TestApp;
  beforeAll(async () => {
    // Two lines a chunk: a small file runs several chunks, more than one at a time.
    app = await startTestApp({ PAYMENT_FILE_CHUNK_LINES: '2' });
    failing = await startTestApp({}, ['audit']);
  });
  afterAll(async () => {
    await app?.stop();
    await failing?.stop();
  });

  it('applied, rejected, compensated and reversed, both recalculation scopes, a payment file and its reversal', async () => {
    const credit = await createCredit(app);
    const applied = await pay(app, credit.id, '100.00');
    const rejected = await pay(app, credit.id, '5000.00');
    const failedCredit = await createCredit(failing);
    const compensated = await pay(failing, failedCredit.id, '100.00');
    await call(app, 'POST', `/v1/payments/${applied.body.id}/reversal`, { key: app.keys.operator, body: { reason: 'replay test' } });
    const batch = async (body: Record<string, unknown>) => {
      const started = await call(app, 'POST', '/v1/recalculations', { key: app.keys.admin, body });
      await app.abono.client.workflow.getHandle(started.body.id).result();
      return started.body.id as string;
    };
    const fileCredits = [];
    for (let i = 0; i < 5; i++) fileCredits.push(await createCredit(app));
    // Uneven chunks (the first credit's 40 lines are one chunk, the others two lines each), so that chunks end at
    // different times: the history shows how the next chunk is started when one of those in flight ends.
    const amountsOf = (i: number) => (i === 0 ? Array.from({ length: 40 }, () => '1.00') : ['100.00', '50.00']);
    const lines = fileCredits.flatMap((c, i) => amountsOf(i).map((amount, j) => ({ creditId: c.id, amount, paymentDate: '2026-02-01', reference: `replay-${i}-${j}`, lineKey: randomUUID() })));
    const file = await uploadFile(app, csvFile(lines), randomUUID());
    expect(await waitForBatch(app, file.body.id)).toMatchObject({ status: 'COMPLETED' });
    const fileReversal = await call(app, 'POST', `/v1/payment-batches/${file.body.id}/reversal`, { key: app.keys.operator, body: { reason: 'replay test' } });
    expect(await waitForBatch(app, fileReversal.body.id)).toMatchObject({ status: 'COMPLETED' });
    const full = await batch({ dryRun: true });
    const incremental = await batch({ dryRun: true, scope: 'INCREMENTAL' });
    const runs: Array<[string, TestApp, string]> = [
      ['recalculation-full', app, full],
      ['recalculation-incremental', app, incremental],
      ['payment-applied', app, `payment-${applied.body.id}`],
      ['payment-rejected', app, `payment-${rejected.body.paymentId}`],
      ['payment-compensated', failing, `payment-${compensated.body.paymentId}`],
      ['reversal', app, `reversal-${applied.body.id}`],
      ['payment-batch', app, paymentBatchWorkflowId(file.body.id)],
      ['payment-batch-reversal', app, paymentBatchWorkflowId(fileReversal.body.id)],
    ];
    for (const [name, owner, workflowId] of runs) {
      const history = await owner.abono.client.workflow.getHandle(workflowId).fetchHistory();
      const json = JSON.parse(historyToJSON(history));
      await replay(name, json);
      if (process.env.RECORD_HISTORIES === '1') fs.writeFileSync(path.join(DIR, `${name}.json`), JSON.stringify(json, null, 1) + '\n');
    }
  });
});
