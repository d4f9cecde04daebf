import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { call, createCredit, startTestApp, TestApp } from '../support/harness';

const run = promisify(execFile);

describe('npm run cli -- payments import FILE --follow', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('uploads, follows to the end, prints the summary, writes the refused lines beside the file; a second import pays nothing twice', async () => {
    const credit = await createCredit(app);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abono-import-'));
    const file = path.join(dir, 'collections.csv');
    fs.writeFileSync(file, `creditId,amount,paymentDate\n${credit.id},100.00,2026-02-01\n${credit.id},5000.00,2026-02-01\n`);
    const cli = () =>
      run(process.execPath, ['--import', 'tsx', path.resolve(__dirname, '../../src/cli/main.ts'), 'payments', 'import', file, '--follow'], {
        env: { ...process.env, ABONO_API_URL: app.url, ABONO_API_KEY: app.keys.operator },
      });
    const first = await cli();
    expect(first.stdout).toMatch(/accepted: payment batch/);
    expect(first.stdout).toMatch(/COMPLETED/);
    expect(first.stdout).toMatch(/APPLIED\s*│?\s*1\s*│?\s*100\.00/);
    const refused = fs.readFileSync(`${file}.rejected.csv`, 'utf8').trim().split(/\r?\n/);
    expect(refused).toHaveLength(2);
    expect(refused[1]).toContain('AMOUNT_EXCEEDS_BALANCE');
    const second = await cli();
    expect(second.stdout).toMatch(/already imported/);
    expect((await call(app, 'GET', `/v1/credits/${credit.id}`, { key: app.keys.viewer })).body).toMatchObject({ totalPaid: '100.00', paymentCount: 1 });
  });
});
