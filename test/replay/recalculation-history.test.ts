// A real REVIEW recalculation over HTTP (chunks, a drifted credit, waiting for approval,
// approved, the correction applied) must replay with the current workflow code. Its
// recorded history, histories/recalculation-review.json, is replayed with the others by
// replay.test.ts; re-record after an intended, versioned change: RECORD_HISTORIES=1 npx jest test/replay
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { createApiKey } from '../../src/db/api-keys';
import { call, createCredit, pay, startTestApp, TestApp } from '../support/harness';

const RECORDED = path.join(__dirname, 'histories', 'recalculation-review.json');

/** GETs the batch until its status is one of `statuses`, failing after `timeoutMs`. */
async function batchIn(app: TestApp, id: string, statuses: string[], timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await call(app, 'GET', `/v1/recalculations/${id}`, { key: app.keys.viewer });
    if (got.status === 200 && statuses.includes(got.body.status)) return got.body;
    if (Date.now() > deadline) throw new Error(`recalculation ${id} is ${got.body?.status}, not ${statuses}, after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('recalculation workflow history', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ RECALC_CHUNK_SIZE: '2', RECALC_PARALLELISM: '2' });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('a fresh REVIEW batch, approved and applied, replays; so does the recorded one', async () => {
    const credits = [];
    for (let i = 0; i < 5; i++) credits.push(await createCredit(app));
    await pay(app, credits[2].id, '120.00');
    // A hand edit the batch must find: the stored figures no longer match the ledger.
    await app.abono.ds.query(`UPDATE credits SET total_paid = total_paid + 10, balance = balance - 10 WHERE id = $1`, [credits[2].id]);

    // Four eyes: another admin's key starts the batch that app.keys.admin approves.
    const maker = await createApiKey(app.abono.ds, 'batch-maker', 'admin');
    const started = await call(app, 'POST', '/v1/recalculations', { key: maker.key, body: { mode: 'REVIEW' } });
    expect(started.status).toBe(202);
    const id: string = started.body.id;
    expect(await batchIn(app, id, ['AWAITING_APPROVAL'])).toMatchObject({ scanned: 5, inconsistent: 1 });
    const approved = await call(app, 'POST', `/v1/recalculations/${id}/approval`, { key: app.keys.admin, body: { approve: true } });
    expect(approved.status).toBe(200);
    expect(await batchIn(app, id, ['COMPLETED'])).toMatchObject({ mode: 'REVIEW', scanned: 5, inconsistent: 1, corrected: 1 });

    const history = await app.abono.client.workflow.getHandle(id).fetchHistory();
    const fresh = JSON.parse(historyToJSON(history));
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: path.resolve(__dirname, '../../src/workflows'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } as never });
    await expect(Worker.runReplayHistory({ workflowBundle }, history, id)).resolves.toBeUndefined();
    if (process.env.RECORD_HISTORIES === '1') fs.writeFileSync(RECORDED, JSON.stringify(fresh, null, 1) + '\n');
    await expect(Worker.runReplayHistory({ workflowBundle }, historyFromJSON(JSON.parse(fs.readFileSync(RECORDED, 'utf8'))), 'recorded')).resolves.toBeUndefined();
  });
});
