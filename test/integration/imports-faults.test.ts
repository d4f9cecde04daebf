import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLegacyExport } from '../../tools/legacy-export';
import { verifyAuditChain } from '../../src/db/audit-chain';
import { findInconsistentCredits } from '../support/consistency';
import { killHard, spawnWorker } from '../support/faults';
import { freshDatabase, startTestApp, TestApp } from '../support/harness';
import { codesByCredit, uploadImport, waitForImport } from '../support/imports';

const count = async (app: TestApp, sql: string): Promise<number> => (await app.abono.ds.query(sql))[0].n;

describe('an import under faults', () => {
  it('a worker SIGKILLed mid-import: the import finishes on another worker with every credit and payment loaded exactly once', async () => {
    const databaseUrl = await freshDatabase();
    const taskQueue = `test-${randomUUID()}`;
    const api = await startTestApp({ DATABASE_URL: databaseUrl, TEMPORAL_TASK_QUEUE: taskQueue, RUN_WORKER: 'false', IMPORT_CHUNK_CREDITS: '25', IMPORT_PARALLELISM: '1' });
    const workerEnv = { DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS!, TEMPORAL_TASK_QUEUE: taskQueue };
    let worker = await spawnWorker(workerEnv);
    try {
      const out = await writeLegacyExport({ credits: 800, outDir: mkdtempSync(join(tmpdir(), 'abono-legacy-')), seed: 11 });
      const manifest = JSON.parse(readFileSync(out.files.manifest, 'utf8'));
      const upload = await uploadImport(api, { credits: readFileSync(out.files.credits), payments: readFileSync(out.files.payments) });
      expect(upload.status).toBe(202);
      // Kill the worker once some chunks have committed and others have not.
      const deadline = Date.now() + 120_000;
      while ((await count(api, `SELECT count(*)::int AS n FROM import_chunks`)) < 2) {
        if (Date.now() > deadline) throw new Error('no chunk committed within 120 s');
        await new Promise((r) => setTimeout(r, 20));
      }
      await killHard(worker);
      expect(await count(api, `SELECT count(*)::int AS n FROM import_chunks`)).toBeLessThan(800 / 25);
      worker = await spawnWorker(workerEnv);
      const done = await waitForImport(api, upload.body.id, 240_000);
      const refused = manifest.planted.filter((p: { plant: string }) => p.plant === 'TERMS_REFUSED').length;
      expect(done).toMatchObject({ status: 'COMPLETED', credits: { loaded: 800 - refused, refused, unchanged: 0 } });
      expect(await codesByCredit(api, done.id, 1000)).toEqual(Object.fromEntries(manifest.planted.map((p: { legacyId: string; codes: string[] }) => [p.legacyId, [...p.codes].sort()])));
      // Exactly once: one credit per loaded legacy credit, one credit.imported entry each, every applied payment once.
      expect(await count(api, `SELECT count(*)::int AS n FROM credits`)).toBe(800 - refused);
      expect(await count(api, `SELECT count(*)::int AS n FROM audit_log WHERE action = 'credit.imported'`)).toBe(800 - refused);
      expect(await count(api, `SELECT count(*)::int AS n FROM payments WHERE ledger_seq IS NOT NULL`)).toBe(done.payments.applied);
      expect(await count(api, `SELECT sum(payment_count)::int AS n FROM credits`)).toBe(done.payments.applied);
      expect(await count(api, `SELECT count(*)::int AS n FROM import_differences WHERE import_id = '${done.id}'`)).toBe(Object.values(done.differences as Record<string, { count: number }>).reduce((a, d) => a + d.count, 0));
      expect((await findInconsistentCredits(api.abono.ds)).inconsistent).toEqual([]);
      expect(await verifyAuditChain(api.abono.ds)).toMatchObject({ broken: 0 });
    } finally {
      await killHard(worker);
      await api.stop();
    }
  }, 420_000);
});
