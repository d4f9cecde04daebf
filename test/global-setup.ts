// Starts what the whole suite shares, once: a fresh test database on the real PostgreSQL
// (DATABASE_URL's server, default the local one) with migrations applied, and a real
// Temporal dev server (unless TEMPORAL_ADDRESS names one). Test files see both through
// process.env.
import { Client } from 'pg';
import { createDataSource, runMigrations } from '../src/db/data-source';
import { startDevServer } from '../src/temporal/dev-server';

const ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export default async function globalSetup() {
  if (!process.env.DATABASE_URL) {
    // A migrated template; each test app gets its own copy (test/support/harness.ts), so
    // a test's before/after snapshot sees only its own writes.
    const template = `abono_test_${process.pid}_tpl`;
    const admin = new Client({ connectionString: ADMIN_URL });
    await admin.connect();
    // Leftovers from runs that were killed (their process is gone); other live runs keep theirs.
    const stale = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE 'abono_test_%'`);
    for (const r of stale.rows) {
      const pid = Number(/^abono_test_(\d+)/.exec(r.datname)?.[1]);
      if (pid && !isAlive(pid)) await admin.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
    }
    await admin.query(`CREATE DATABASE "${template}"`);
    const ds = createDataSource(databaseUrl(template), 2);
    await ds.initialize();
    await runMigrations(ds);
    await ds.destroy();
    const shared = `abono_test_${process.pid}`;
    await admin.query(`CREATE DATABASE "${shared}" TEMPLATE "${template}"`);
    await admin.end();
    process.env.TEST_TEMPLATE_DB = template;
    process.env.DATABASE_URL = databaseUrl(shared);
    (globalThis as Record<string, unknown>).__abonoTestDbPrefix = `abono_test_${process.pid}`;
  } else {
    const ds = createDataSource(process.env.DATABASE_URL, 2);
    await ds.initialize();
    await runMigrations(ds);
    await ds.destroy();
  }

  if (!process.env.TEMPORAL_ADDRESS) {
    const server = await startDevServer({
      cliPath: process.env.TEMPORAL_CLI_PATH || undefined,
      namespace: 'default',
      log: (m) => process.stderr.write(`[test setup] ${m}\n`),
    });
    process.env.TEMPORAL_ADDRESS = server.address;
    (globalThis as Record<string, unknown>).__abonoTemporal = server;
  }
  process.env.NODE_ENV = 'test';
  process.env.LOG_LEVEL ??= 'silent';
}
