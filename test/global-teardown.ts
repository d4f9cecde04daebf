import { Client } from 'pg';
import type { DevServer } from '../src/temporal/dev-server';

export default async function globalTeardown() {
  const g = globalThis as Record<string, unknown>;
  await (g.__abonoTemporal as DevServer | undefined)?.stop();
  const prefix = g.__abonoTestDbPrefix as string | undefined;
  if (prefix) {
    const admin = new Client({ connectionString: process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
    await admin.connect();
    const dbs = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${prefix}%`]);
    for (const r of dbs.rows) await admin.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
    await admin.end();
  }
}
