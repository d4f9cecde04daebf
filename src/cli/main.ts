// `npm run cli -- <command>`: operator tasks against the PostgreSQL at DATABASE_URL.
//
//   migrate                                           apply pending migrations, print their names
//   keys create --role <viewer|operator|admin> --name <name> [--json]
//   keys list [--json]                                never shows a key or its hash
//   keys revoke <id>
//   audit verify [--json]                             walk the audit log's hash chains (exit 1 when broken)
//
// Exit codes: 0 done, 1 failed (database unreachable, no such key...), 2 bad arguments or
// configuration. Every error is one line on stderr.
import { parseArgs } from 'node:util';
import Table from 'cli-table3';
import type { DataSource } from 'typeorm';
import { ConfigError, loadConfig } from '../config';
import { createDataSource, runMigrations } from '../db/data-source';
import { createApiKey, listApiKeys, revokeApiKey, type Role, roleRank } from '../db/api-keys';
import { describeVerification, verifyAuditChain } from '../db/audit-chain';
import { runRecalc } from './recalc';

const PROG = 'abono cli';
const ROLES = Object.keys(roleRank) as Role[];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const USAGE = `usage: npm run cli -- <command>

commands:
  migrate                                            apply pending database migrations
  keys create --role <${ROLES.join('|')}> --name <name> [--json]
                                                     create an API key (the key is shown once)
  keys list [--json]                                 list API keys (never the key or its hash)
  keys revoke <id>                                   revoke an API key
  audit verify [--json]                              walk the audit log's hash chains; exit 1 when one is broken
  recalc [--dry-run|--review] [--credit ID ...] [--follow]
                                                     start a recalculation batch through the API
                                                     and follow it with a progress bar
  help                                               this text

environment:
  DATABASE_URL   postgres://user:password@host:5432/database (migrate, keys)
  ABONO_API_URL  the API (recalc; default http://127.0.0.1:3000)
  ABONO_API_KEY  an admin API key (recalc)`;

/** Bad arguments or configuration: exit 2. */
class UsageError extends Error {}
/** The command could not be done: exit 1. */
class CliError extends Error {}

const options = {
  role: { type: 'string' },
  name: { type: 'string' },
  json: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  review: { type: 'boolean' },
  credit: { type: 'string', multiple: true },
  follow: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;
type Flag = keyof typeof options;

interface Parsed {
  positionals: string[];
  values: { role?: string; name?: string; json?: boolean; help?: boolean; 'dry-run'?: boolean; review?: boolean; credit?: string[]; follow?: boolean };
}

function parse(argv: string[]): Parsed {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values, positionals };
  } catch (err) {
    // node:util's messages (unknown option, missing value) are already clear; keep their first line.
    throw new UsageError(firstLine(err));
  }
}

/** Only the flags a command takes; anything else is a mistake worth naming. */
function allowOnly(p: Parsed, command: string, allowed: Flag[]) {
  for (const [flag, v] of Object.entries(p.values)) {
    if (v !== undefined && flag !== 'help' && !allowed.includes(flag as Flag)) {
      throw new UsageError(`option --${flag} is not valid for "${command}"`);
    }
  }
}

function noExtraArgs(rest: string[], command: string) {
  if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}" for "${command}"`);
}

function parseRole(value: string | undefined): Role {
  if (value === undefined) throw new UsageError(`--role is required (one of ${ROLES.join(', ')})`);
  if (!(ROLES as string[]).includes(value)) throw new UsageError(`unknown role "${value}" (expected one of ${ROLES.join(', ')})`);
  return value as Role;
}

function parseName(value: string | undefined): string {
  if (value === undefined) throw new UsageError('--name is required (who or what will use the key)');
  const name = value.trim();
  if (!name) throw new UsageError('--name must not be empty');
  if (name.length > 100) throw new UsageError('--name must be at most 100 characters');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new UsageError('--name must not contain control characters');
  return name;
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0].trim();
}

/** Where we connect, without the password: for error messages. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? ':' + u.port : ''}${u.pathname}`;
  } catch {
    return 'DATABASE_URL';
  }
}

async function withDatabase<T>(fn: (ds: DataSource) => Promise<T>): Promise<T> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  const url = config.database.url;
  if (!url) throw new UsageError('DATABASE_URL is required (postgres://user:password@host:5432/database)');
  const ds = createDataSource(url, 2);
  try {
    await ds.initialize();
  } catch (err) {
    throw new CliError(`cannot connect to PostgreSQL at ${describeUrl(url)}: ${firstLine(err)}`);
  }
  try {
    return await fn(ds);
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as { driverError?: { code?: string } }).driverError?.code;
    if (code === '42P01') throw new CliError(`the database at ${describeUrl(url)} has no abono schema yet: run \`npm run migrate\` first`);
    throw err;
  } finally {
    await ds.destroy().catch(() => undefined);
  }
}

const iso = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  const d = v instanceof Date ? v : new Date(String(v));
  return Number.isNaN(d.getTime()) ? String(v) : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
};

function table(headers: string[], rows: string[][]): string {
  const t = new Table({ head: headers, style: { head: [], border: [] } });
  t.push(...rows);
  return t.toString();
}

const out = (text: string) => process.stdout.write(text + '\n');

async function migrate(p: Parsed, rest: string[]) {
  allowOnly(p, 'migrate', []);
  noExtraArgs(rest, 'migrate');
  const ran = await withDatabase(runMigrations);
  if (ran.length === 0) out('no pending migrations: the database is up to date');
  else for (const name of ran) out(`applied ${name}`);
}

async function keysCreate(p: Parsed, rest: string[]) {
  allowOnly(p, 'keys create', ['role', 'name', 'json']);
  noExtraArgs(rest, 'keys create');
  const role = parseRole(p.values.role);
  const name = parseName(p.values.name);
  const created = await withDatabase((ds) => createApiKey(ds, name, role));
  if (p.values.json) {
    out(JSON.stringify({ id: created.id, name: created.name, role: created.role, key: created.key }));
    return;
  }
  out(`created ${created.role} key "${created.name}"`);
  out(`id:  ${created.id}`);
  out(`key: ${created.key}`);
  out('Store the key now: it is shown only once and cannot be recovered (only its hash is kept).');
}

interface KeyRow {
  id: string;
  name: string;
  role: Role;
  created_at: unknown;
  last_used_at: unknown;
  revoked_at: unknown;
}

async function keysList(p: Parsed, rest: string[]) {
  allowOnly(p, 'keys list', ['json']);
  noExtraArgs(rest, 'keys list');
  const rows: KeyRow[] = await withDatabase(listApiKeys);
  // Only these columns leave the database; listApiKeys never selects key_hash, and neither do we print it.
  const keys = rows.map((r) => ({
    id: r.id,
    name: r.name,
    role: r.role,
    createdAt: iso(r.created_at),
    lastUsedAt: iso(r.last_used_at),
    revokedAt: iso(r.revoked_at),
    status: r.revoked_at ? 'revoked' : 'active',
  }));
  if (p.values.json) {
    out(JSON.stringify(keys, null, 2));
    return;
  }
  if (keys.length === 0) {
    out('no API keys');
    return;
  }
  out(
    table(
      ['ID', 'NAME', 'ROLE', 'STATUS', 'CREATED', 'LAST USED', 'REVOKED'],
      keys.map((k) => [k.id, k.name, k.role, k.status, k.createdAt ?? '-', k.lastUsedAt ?? '-', k.revokedAt ?? '-']),
    ),
  );
}

async function keysRevoke(p: Parsed, rest: string[]) {
  allowOnly(p, 'keys revoke', []);
  const [id, ...extra] = rest;
  if (id === undefined) throw new UsageError('keys revoke needs the id of the key (see `keys list`)');
  noExtraArgs(extra, 'keys revoke');
  if (!UUID.test(id)) throw new UsageError(`"${id}" is not a key id (a UUID, as \`keys list\` shows)`);
  await withDatabase(async (ds) => {
    const found: Array<{ name: string; role: Role; revoked_at: unknown }> = await ds.query(
      `SELECT name, role, revoked_at FROM api_keys WHERE id = $1`,
      [id],
    );
    if (found.length === 0) throw new CliError(`no API key with id ${id}`);
    if (await revokeApiKey(ds, id)) {
      out(`revoked ${found[0].role} key "${found[0].name}" (${id})`);
    } else {
      out(`key "${found[0].name}" (${id}) was already revoked at ${iso(found[0].revoked_at)}`);
    }
  });
}

/** Exit 0 when every chain is intact, 1 naming the first broken entry. */
async function auditVerify(p: Parsed, rest: string[]): Promise<number> {
  allowOnly(p, 'audit verify', ['json']);
  noExtraArgs(rest, 'audit verify');
  const result = await withDatabase((ds) => verifyAuditChain(ds));
  out(p.values.json ? JSON.stringify(result) : describeVerification(result));
  return result.ok ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  const p = parse(argv);
  const [command, ...rest] = p.positionals;
  if (p.values.help || command === 'help') {
    out(USAGE);
    return 0;
  }
  switch (command) {
    case undefined:
      throw new UsageError('missing command (migrate, keys create, keys list, keys revoke); see `npm run cli -- help`');
    case 'migrate':
      await migrate(p, rest);
      return 0;
    case 'keys': {
      const [sub, ...args] = rest;
      if (sub === 'create') await keysCreate(p, args);
      else if (sub === 'list') await keysList(p, args);
      else if (sub === 'revoke') await keysRevoke(p, args);
      else if (sub === undefined) throw new UsageError('missing keys command (create, list, revoke)');
      else throw new UsageError(`unknown keys command "${sub}" (expected create, list or revoke)`);
      return 0;
    }
    case 'recalc': {
      allowOnly(p, 'recalc', ['dry-run', 'review', 'credit', 'follow']);
      noExtraArgs(rest, 'recalc');
      if (p.values['dry-run'] && p.values.review) throw new UsageError('give --dry-run or --review, not both');
      const bad = (p.values.credit ?? []).find((id) => !UUID.test(id));
      if (bad) throw new UsageError(`"${bad}" is not a credit id (a UUID)`);
      const apiKey = process.env.ABONO_API_KEY;
      if (!apiKey) throw new UsageError('ABONO_API_KEY is required for recalc (an admin API key)');
      try {
        return await runRecalc({
          apiUrl: process.env.ABONO_API_URL ?? 'http://127.0.0.1:3000',
          apiKey,
          mode: p.values['dry-run'] ? 'DRY_RUN' : p.values.review ? 'REVIEW' : 'CORRECT',
          creditIds: p.values.credit,
          follow: p.values.follow ?? false,
          out: process.stdout,
        });
      } catch (err) {
        throw new CliError(firstLine(err));
      }
    }
    case 'audit': {
      const [sub, ...args] = rest;
      if (sub === 'verify') return auditVerify(p, args);
      if (sub === undefined) throw new UsageError('missing audit command (verify)');
      throw new UsageError(`unknown audit command "${sub}" (expected verify)`);
    }
    default:
      throw new UsageError(`unknown command "${command}" (expected migrate, keys, recalc or audit); see \`npm run cli -- help\``);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    if (err instanceof UsageError) {
      console.error(`${PROG}: ${err.message}`);
      process.exitCode = 2;
    } else {
      console.error(`${PROG}: ${err instanceof CliError ? err.message : firstLine(err)}`);
      process.exitCode = 1;
    }
  },
);
