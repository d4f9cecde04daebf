import { execFile } from 'node:child_process';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { appendAudit } from '../../src/db/audit';
import { verifyAuditChain } from '../../src/db/audit-chain';
import { call, createCredit, pay, startTestApp, TestApp } from '../support/harness';

const ROOT = path.resolve(__dirname, '../..');

/** `npm run cli -- audit verify` against the test app's database: exit code and output. */
function cliVerify(databaseUrl: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'src/cli/main.ts', 'audit', 'verify'],
      { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('the tamper-evident audit log', () => {
  let app: TestApp;
  let url: string;
  const ds = () => app.abono.ds;
  // Tampering, as someone with the database owner's rights would: with the append-only trigger off.
  const tamper = async (sql: string, params: unknown[] = []) => {
    await ds().query(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete`);
    try {
      await ds().query(sql, params);
    } finally {
      await ds().query(`ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete`);
    }
  };
  const entriesOf = async (chain: string): Promise<Array<{ id: string; prev_hash: string | null; hash: string; details: unknown }>> =>
    ds().query(`SELECT id::text AS id, prev_hash, hash, details FROM audit_log WHERE chain = $1 ORDER BY audit_log.id`, [chain]);

  let creditId: string;
  beforeAll(async () => {
    app = await startTestApp();
    url = (ds().options as { url: string }).url;
    // Real traffic: two credits, payments, a refusal and a reversal.
    const credit = await createCredit(app);
    creditId = credit.id;
    const other = await createCredit(app, { clientId: 'client-2' });
    const p1 = await pay(app, credit.id, '100.00');
    expect(p1.status).toBe(201);
    expect((await pay(app, credit.id, '250.00')).status).toBe(201);
    expect((await pay(app, other.id, '300.00')).status).toBe(201);
    expect((await pay(app, credit.id, '99999.00')).status).toBe(422);
    const rev = await call(app, 'POST', `/v1/payments/${p1.body.id}/reversal`, { key: app.keys.operator, body: { reason: 'bounced' } });
    expect(rev.status).toBe(200);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('links every entry of a credit into that credit\'s chain, and verify passes on the clean log', async () => {
    const entries = await entriesOf(creditId);
    expect(entries.length).toBeGreaterThanOrEqual(7); // created, 3 payments (applied + completed), rejected, reversed
    expect(entries[0].prev_hash).toBeNull();
    for (let i = 1; i < entries.length; i++) expect(entries[i].prev_hash).toBe(entries[i - 1].hash);
    for (const e of entries) expect(e.hash).toMatch(/^[0-9a-f]{64}$/);

    const v = await verifyAuditChain(ds());
    expect(v).toMatchObject({ ok: true, broken: 0 });
    expect(v.chains).toBeGreaterThanOrEqual(2);
    // Small pages give the same answer (the walk crosses page boundaries mid-chain).
    expect(await verifyAuditChain(ds(), { pageSize: 2 })).toEqual(v);

    const cli = await cliVerify(url);
    expect(cli.code).toBe(0);
    expect(cli.stdout.trim().split('\n')).toHaveLength(1);
    expect(cli.stdout).toMatch(/^audit log intact: \d+ entries in \d+ chains verified/);
  });

  it('refuses UPDATE, DELETE and TRUNCATE while the append-only triggers are on', async () => {
    const [{ id }] = await entriesOf(creditId);
    await expect(ds().query(`UPDATE audit_log SET actor = 'mallory' WHERE id = $1`, [id])).rejects.toThrow(/append-only/);
    await expect(ds().query(`DELETE FROM audit_log WHERE id = $1`, [id])).rejects.toThrow(/append-only/);
    await expect(ds().query(`TRUNCATE audit_log`)).rejects.toThrow(/append-only/);
  });

  it('keeps the chain whole under ON CONFLICT DO NOTHING and concurrent writers', async () => {
    const chainCredit = randomUUID(); // a chain of its own (credit_id has no foreign key)
    const dedupeKey = `test:${randomUUID()}`;
    for (let i = 0; i < 3; i++) {
      await ds().transaction((m) => appendAudit(m, { action: 'test.dedupe', creditId: chainCredit, dedupeKey, details: { i } }));
    }
    expect(await entriesOf(chainCredit)).toHaveLength(1);

    // 30 writers on one chain, committing in a scrambled order.
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        ds().transaction(async (m) => {
          await m.query(`SELECT pg_sleep($1)`, [Math.random() * 0.05]);
          await appendAudit(m, { action: 'test.concurrent', creditId: chainCredit, details: { i } });
          await m.query(`SELECT pg_sleep($1)`, [Math.random() * 0.05]);
        }),
      ),
    );
    // And a conflicting insert in the middle of a transaction that then goes on writing.
    await ds().transaction(async (m) => {
      await appendAudit(m, { action: 'test.dedupe', creditId: chainCredit, dedupeKey, details: { again: true } });
      await appendAudit(m, { action: 'test.after-conflict', creditId: chainCredit });
    });
    const entries = await entriesOf(chainCredit);
    expect(entries).toHaveLength(32);
    for (let i = 1; i < entries.length; i++) expect(entries[i].prev_hash).toBe(entries[i - 1].hash);
    expect((await verifyAuditChain(ds())).ok).toBe(true);
  });

  it('refuses to link an entry from a REPEATABLE READ transaction (its snapshot could miss the head)', async () => {
    await expect(ds().transaction('REPEATABLE READ', (m) => appendAudit(m, { action: 'test.rr' }))).rejects.toThrow(/READ COMMITTED/);
  });

  it('names an entry altered with the trigger disabled, and is intact again once it is restored', async () => {
    const entries = await entriesOf(creditId);
    const victim = entries[2];
    await tamper(`UPDATE audit_log SET details = details || '{"amount":"1.00"}'::jsonb WHERE id = $1`, [victim.id]);

    const v = await verifyAuditChain(ds());
    expect(v).toMatchObject({ ok: false, broken: 1, firstBreak: { id: victim.id, chain: creditId, reason: 'CONTENT_CHANGED' } });
    const cli = await cliVerify(url);
    expect(cli.code).toBe(1);
    expect(cli.stdout.trim().split('\n')).toHaveLength(1);
    expect(cli.stdout).toContain(`first broken entry id ${victim.id}, chain ${creditId}: CONTENT_CHANGED`);

    await tamper(`UPDATE audit_log SET details = $2::jsonb WHERE id = $1`, [victim.id, JSON.stringify(victim.details)]);
    expect((await verifyAuditChain(ds())).ok).toBe(true);
  });

  it('finds an altered entry whose hash the tamperer recomputed: the next entry no longer links to it', async () => {
    const entries = await entriesOf(creditId);
    const [victim, next] = [entries[3], entries[4]];
    await tamper(
      `UPDATE audit_log SET actor = 'mallory',
         hash = audit_entry_hash(prev_hash, id, chain, occurred_at, action, credit_id, payment_id, 'mallory', workflow_id, run_id, dedupe_key, details)
       WHERE id = $1`,
      [victim.id],
    );
    const v = await verifyAuditChain(ds());
    expect(v).toMatchObject({ ok: false, broken: 1, firstBreak: { id: next.id, chain: creditId, reason: 'LINK_BROKEN' } });
  });

  it('detects a deleted entry, in the middle of a chain and at its start', async () => {
    // A fresh log for this case.
    const other = await startTestApp();
    try {
      const credit = await createCredit(other);
      for (const amount of ['10.00', '20.00', '30.00']) expect((await pay(other, credit.id, amount)).status).toBe(201);
      const rows: Array<{ id: string }> = await other.abono.ds.query(`SELECT id::text AS id FROM audit_log WHERE chain = $1 ORDER BY audit_log.id`, [credit.id]);
      expect((await verifyAuditChain(other.abono.ds)).ok).toBe(true);

      await other.abono.ds.query(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete`);
      await other.abono.ds.query(`DELETE FROM audit_log WHERE id = $1`, [rows[2].id]);
      await other.abono.ds.query(`ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete`);
      let v = await verifyAuditChain(other.abono.ds);
      expect(v).toMatchObject({ ok: false, broken: 1, firstBreak: { id: rows[3].id, chain: credit.id, reason: 'LINK_BROKEN' } });
      expect(v.firstBreak!.detail).toMatch(/deleted or inserted/);
      const cli = await cliVerify((other.abono.ds.options as { url: string }).url);
      expect(cli.code).toBe(1);
      expect(cli.stdout).toContain(`first broken entry id ${rows[3].id}`);

      await other.abono.ds.query(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete`);
      await other.abono.ds.query(`DELETE FROM audit_log WHERE id = $1`, [rows[0].id]);
      await other.abono.ds.query(`ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete`);
      v = await verifyAuditChain(other.abono.ds);
      expect(v).toMatchObject({ ok: false, broken: 2, firstBreak: { id: rows[1].id, reason: 'LINK_BROKEN' } });
      expect(v.firstBreak!.detail).toMatch(/first entry of its chain/);
    } finally {
      await other.stop();
    }
  });
});
