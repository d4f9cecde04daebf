// What every command of `npm run cli` shares: argument checks, errors and their exit codes, the database.
import { parseArgs } from 'node:util';
import Table from 'cli-table3';
import type { DataSource } from 'typeorm';
import { ConfigError, loadConfig } from '../config';
import { createDataSource } from '../db/data-source';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Bad arguments or configuration: exit 2. */
export class UsageError extends Error {}
/** The command could not be done: exit 1. */
export class CliError extends Error {}

const options = {
  role: { type: 'string' },
  name: { type: 'string' },
  json: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  review: { type: 'boolean' },
  credit: { type: 'string', multiple: true },
  follow: { type: 'boolean' },
  incremental: { type: 'boolean' },
  days: { type: 'string' },
  credits: { type: 'string' },
  payments: { type: 'string' },
  mapping: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
export type Flag = keyof typeof options;

export interface Parsed {
  positionals: string[];
  values: { role?: string; name?: string; json?: boolean; help?: boolean; 'dry-run'?: boolean; review?: boolean; credit?: string[]; follow?: boolean; incremental?: boolean; days?: string; credits?: string; payments?: string; mapping?: string };
}

export function parse(argv: string[]): Parsed {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values, positionals };
  } catch (err) {
    // node:util's messages (unknown option, missing value) are already clear; keep their first line.
    throw new UsageError(firstLine(err));
  }
}

/** Only the flags a command takes; anything else is a mistake worth naming. */
export function allowOnly(p: Parsed, command: string, allowed: Flag[]) {
  for (const [flag, v] of Object.entries(p.values)) {
    if (v !== undefined && flag !== 'help' && !allowed.includes(flag as Flag)) {
      throw new UsageError(`option --${flag} is not valid for "${command}"`);
    }
  }
}

export function noExtraArgs(rest: string[], command: string) {
  if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}" for "${command}"`);
}

export function firstLine(err: unknown): string {
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

export async function withDatabase<T>(fn: (ds: DataSource) => Promise<T>): Promise<T> {
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

export const iso = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  const d = v instanceof Date ? v : new Date(String(v));
  return Number.isNaN(d.getTime()) ? String(v) : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
};

export function table(headers: string[], rows: string[][]): string {
  const t = new Table({ head: headers, style: { head: [], border: [] } });
  t.push(...rows);
  return t.toString();
}

export const out = (text: string) => process.stdout.write(text + '\n');
