/**
 * Database roles: migrations run as the owner of the schema; the API and the worker connect as
 * a runtime role that may read and write the business tables but only append to the audit log.
 * Not owning the tables, it cannot alter them, disable or drop their triggers, or replace their
 * functions; UPDATE, DELETE and TRUNCATE on audit_log are not granted at all (the append-only
 * triggers stay as a second lock).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client } from 'pg';
import { secretFile } from './secret-file';
import { createDataSource, runMigrations } from '../db/data-source';

const AUDIT_TABLE = 'audit_log';

/** The runtime role abono's own PostgreSQL servers create (npm start's embedded one, the cluster's). */
export const RUNTIME_ROLE = 'abono_app';
/** The fixed password data folders made before the passwords were random still have. */
export const LEGACY_PASSWORD = 'abono';

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The role a connection URL logs in as. */
export const roleOf = (databaseUrl: string): string => decodeURIComponent(new URL(databaseUrl).username);

/**
 * Run by the owner after every migration run (so new tables are covered): the runtime role's
 * grants, from nothing. Idempotent.
 */
export async function grantRuntimeRole(ownerUrl: string, runtimeRole: string): Promise<void> {
  const owner = new Client({ connectionString: ownerUrl, application_name: 'abono-migrations' });
  await owner.connect();
  const role = quoteIdent(runtimeRole);
  try {
    const me = (await owner.query(`SELECT current_user AS u`)).rows[0].u as string;
    if (me === runtimeRole) throw new Error('DATABASE_OWNER_URL and DATABASE_URL log in as the same role; the runtime role must be another one');
    await owner.query('BEGIN');
    await owner.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${role}`);
    await owner.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await owner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
    await owner.query(`REVOKE UPDATE, DELETE, TRUNCATE ON ${AUDIT_TABLE} FROM ${role}`);
    // The migrations' bookkeeping is the owner's alone.
    await owner.query(`REVOKE INSERT, UPDATE, DELETE ON migrations FROM ${role}`);
    await owner.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
    await owner.query('COMMIT');
  } catch (err) {
    await owner.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await owner.end();
  }
}

export interface EmbeddedPasswords {
  owner: string;
  runtime: string;
}

/**
 * The embedded PostgreSQL's passwords: random, made at first start, kept in the data folder (mode 0600).
 */
export function embeddedPasswords(dataDir: string): EmbeddedPasswords {
  const made = () => JSON.stringify({ owner: randomBytes(24).toString('base64url'), runtime: randomBytes(24).toString('base64url') }) + '\n';
  return JSON.parse(secretFile(path.join(dataDir, 'postgres-passwords.json'), made)) as EmbeddedPasswords;
}

/** The server's runtime role (created by the owner, its password set from the file). */
export async function ensureRuntimeLogin(ownerUrl: string, runtimeRole: string, password: string): Promise<void> {
  const owner = new Client({ connectionString: ownerUrl });
  await owner.connect();
  try {
    const exists = (await owner.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [runtimeRole])).rowCount;
    const literal = (await owner.query(`SELECT quote_literal($1) AS l`, [password])).rows[0].l as string;
    await owner.query(`${exists ? 'ALTER' : 'CREATE'} ROLE ${quoteIdent(runtimeRole)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${literal}`);
  } finally {
    await owner.end();
  }
}

/** Migrations on a short-lived owner connection, then the runtime role's grants; returns what ran. */
export async function migrateAsOwner(ownerUrl: string, runtimeUrl: string): Promise<string[]> {
  const owner = createDataSource(ownerUrl, 1, { statementTimeoutMs: 0 });
  await owner.initialize();
  try {
    const ran = await runMigrations(owner);
    await grantRuntimeRole(ownerUrl, roleOf(runtimeUrl));
    return ran;
  } finally {
    await owner.destroy();
  }
}

/** Logs in with the old fixed password, if it still works, and sets the random one. */
export async function replaceLegacyPassword(legacyUrl: string, password: string): Promise<void> {
  const c = new Client({ connectionString: legacyUrl });
  try {
    await c.connect();
  } catch {
    return; // already replaced
  }
  try {
    const literal = (await c.query(`SELECT quote_literal($1) AS l`, [password])).rows[0].l as string;
    await c.query(`ALTER ROLE ${quoteIdent(roleOf(legacyUrl))} PASSWORD ${literal}`);
  } finally {
    await c.end();
  }
}
