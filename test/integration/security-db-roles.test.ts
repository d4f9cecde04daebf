import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { embeddedPasswords } from '../../src/security/db-roles';
import { call, createCredit, freshDatabase, pay, startTestApp, TestApp } from '../support/harness';

const ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * Migrations run as the owner (here the suite's superuser); the API and worker connect as a
 * runtime role that can append to the audit log and nothing more.
 */
describe('the database role cannot undo the audit', () => {
  const role = `abono_rt_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(16).toString('hex');
  let ownerUrl: string;
  let runtimeUrl: string;
  let app: TestApp;
  let runtime: Client;

  beforeAll(async () => {
    const admin = new Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`); // as a DBA would
    await admin.end();
    ownerUrl = await freshDatabase();
    const u = new URL(ownerUrl);
    u.username = role;
    u.password = password;
    runtimeUrl = u.toString();
    app = await startTestApp({ DATABASE_URL: runtimeUrl, DATABASE_OWNER_URL: ownerUrl });
    runtime = new Client({ connectionString: runtimeUrl });
    await runtime.connect();
  });
  afterAll(async () => {
    await runtime?.end();
    await app?.stop();
    const admin = new Client({ connectionString: ADMIN_URL });
    await admin.connect();
    const db = new URL(ownerUrl).pathname.slice(1);
    await admin.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`).catch(() => undefined);
    await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await admin.end();
  });

  it('abono runs as the runtime role: payments and their audit entries are written', async () => {
    expect((await app.abono.ds.query(`SELECT current_user AS u`))[0].u).toBe(role);
    const credit = await createCredit(app);
    expect((await pay(app, credit.id, '10.00')).status).toBe(201);
    const audit = await call(app, 'GET', `/v1/credits/${credit.id}/payments`, { key: app.keys.viewer });
    expect(audit.status).toBe(200);
    const entries = await runtime.query(`SELECT count(*)::int AS n FROM audit_log WHERE credit_id = $1`, [credit.id]);
    expect(entries.rows[0].n).toBeGreaterThan(0);
  });

  it.each([
    ['UPDATE', `UPDATE audit_log SET actor = 'someone else'`],
    ['DELETE', `DELETE FROM audit_log`],
    ['TRUNCATE', `TRUNCATE audit_log`],
    ['DISABLE TRIGGER', `ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete`],
    ['DISABLE TRIGGER ALL', `ALTER TABLE audit_log DISABLE TRIGGER ALL`],
    ['DROP TRIGGER', `DROP TRIGGER audit_log_link ON audit_log`],
    ['replace the trigger function', `CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`],
    ['replica mode (triggers off)', `SET session_replication_role = replica`],
    ['DROP TABLE', `DROP TABLE audit_log`],
  ])('refuses %s on the audit log to the runtime role', async (_what, sql) => {
    const before = (await runtime.query(`SELECT count(*)::int AS n, max(hash) AS h FROM audit_log`)).rows[0];
    await expect(runtime.query(sql)).rejects.toThrow(/permission denied|must be owner|insufficient/i);
    expect((await runtime.query(`SELECT count(*)::int AS n, max(hash) AS h FROM audit_log`)).rows[0]).toEqual(before);
  });

  it('the embedded PostgreSQL passwords are random, made at first start and kept with mode 0600', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abono-pw-'));
    try {
      const first = embeddedPasswords(dir);
      expect(first.owner).toMatch(/^[A-Za-z0-9_-]{32,}$/);
      expect(first.runtime).toMatch(/^[A-Za-z0-9_-]{32,}$/);
      expect(first.owner).not.toBe(first.runtime);
      expect(first.owner).not.toBe('abono');
      const file = fs.readdirSync(dir).map((f) => path.join(dir, f));
      expect(file).toHaveLength(1);
      expect(fs.statSync(file[0]).mode & 0o777).toBe(0o600);
      expect(embeddedPasswords(dir)).toEqual(first); // kept, not remade
      const other = fs.mkdtempSync(path.join(os.tmpdir(), 'abono-pw-'));
      expect(embeddedPasswords(other).owner).not.toBe(first.owner);
      fs.rmSync(other, { recursive: true });
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});
