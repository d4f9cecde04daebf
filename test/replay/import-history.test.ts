// A real import over HTTP (two chunks at a time, a dry run's and a committing run's steps) must replay with the
// current workflow code. Its recorded history, histories/import.json, is replayed with the others by
// replay.test.ts; re-record after an intended, versioned change: RECORD_HISTORIES=1 npx jest test/replay
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../../src/worker/worker';
import { startTestApp, TestApp } from '../support/harness';
import { uploadImport, waitForImport } from '../support/imports';

const RECORDED = path.join(__dirname, 'histories', 'import.json');

describe('import workflow history', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ IMPORT_CHUNK_CREDITS: '2', IMPORT_PARALLELISM: '2' });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('a fresh import in several chunks replays', async () => {
    const credits = ['id,client_id,amount,interest_rate,total_installments,start_date,total_amount,installment_amount,paid_installments,balance,total_paid'];
    const payments = ['id,credit_id,amount,payment_date'];
    for (let i = 1; i <= 5; i++) {
      credits.push(`R${i},client-${i},1000.00,5,4,2025-01-01,1200.00,300.00,1,900.00,300.00`);
      payments.push(`${i},R${i},300.00,2025-01-05`);
    }
    const done = await waitForImport(app, (await uploadImport(app, { credits: credits.join('\n') + '\n', payments: payments.join('\n') + '\n' })).body.id);
    expect(done).toMatchObject({ status: 'COMPLETED', credits: { loaded: 5, withDifferences: 0 }, progress: { chunks: 3 } });
    const json = JSON.parse(historyToJSON(await app.abono.client.workflow.getHandle(done.workflowId).fetchHistory()));
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, historyFromJSON(json), 'import');
    if (process.env.RECORD_HISTORIES === '1') fs.writeFileSync(RECORDED, JSON.stringify(json, null, 1) + '\n');
  });
});
