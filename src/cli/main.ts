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
import fs from 'node:fs';
import { runMigrations } from '../db/data-source';
import { loadConfig } from '../config';
import { migrateAsOwner } from '../security/db-roles';
import { describeVerification, verifyAuditChain } from '../db/audit-chain';
import { CliError, Parsed, UUID, UsageError, allowOnly, firstLine, noExtraArgs, out, parse, withDatabase } from './common';
import { keysCommand, ROLES } from './keys';
import { runRecalc } from './recalc';
import { verificationCommand } from './verification';
import { runPaymentsImport } from './payments-import';
import { runImport } from './import';

const PROG = 'abono cli';

const USAGE = `usage: npm run cli -- <command>

commands:
  migrate                                            apply pending database migrations
  keys create --role <${ROLES.join('|')}> --name <name> [--json]
                                                     create an API key (the key is shown once)
  keys list [--json]                                 list API keys (never the key or its hash)
  keys revoke <id>                                   revoke an API key
  audit verify [--json]                              walk the audit log's hash chains; exit 1 when one is broken
  payments import FILE [--dry-run] [--follow]        upload a payment file (CSV, or NDJSON by .ndjson) and follow it
  import --credits FILE --payments FILE [--mapping FILE] [--dry-run] [--follow]
                                                     bring a legacy book in (an admin key); --follow prints the
                                                     progress and the differences by code
  recalc [--dry-run|--review] [--incremental] [--credit ID ...] [--follow]
                                                     start a recalculation batch through the API
  verification [--days N] [--json]                   the book's last verification (through the API)
                                                     and follow it with a progress bar
  help                                               this text

environment:
  DATABASE_URL   postgres://user:password@host:5432/database (migrate, keys)
  DATABASE_OWNER_URL  the schema owner's connection: migrate runs as it, then grants DATABASE_URL's role
  ABONO_API_URL  the API (recalc, verification; default http://127.0.0.1:3000)
  ABONO_API_KEY  an admin API key (recalc), any key (verification)`;

async function migrate(p: Parsed, rest: string[]) {
  allowOnly(p, 'migrate', []);
  noExtraArgs(rest, 'migrate');
  // With DATABASE_OWNER_URL as abono's start does: migrations as the owner, then the runtime role's grants.
  const ran = await withDatabase((ds) => {
    const { url, ownerUrl } = loadConfig().database; // already checked by withDatabase
    return ownerUrl ? migrateAsOwner(ownerUrl, url!) : runMigrations(ds);
  });
  if (ran.length === 0) out('no pending migrations: the database is up to date');
  else for (const name of ran) out(`applied ${name}`);
}

/** Exit 0 when every chain is intact, 1 naming the first broken entry. */
async function auditVerify(p: Parsed, rest: string[]): Promise<number> {
  allowOnly(p, 'audit verify', ['json']);
  noExtraArgs(rest, 'audit verify');
  const result = await withDatabase((ds) => verifyAuditChain(ds));
  out(p.values.json ? JSON.stringify(result) : describeVerification(result));
  return result.ok ? 0 : 1;
}

/** The commands that go through the API: its address, the key from the environment, and the first line of a failure. */
async function throughApi(command: string, role: string, run: (api: { apiUrl: string; apiKey: string }) => Promise<number>): Promise<number> {
  const apiKey = process.env.ABONO_API_KEY;
  if (!apiKey) throw new UsageError(`ABONO_API_KEY is required for ${command} (an ${role} API key)`);
  try {
    return await run({ apiUrl: process.env.ABONO_API_URL ?? 'http://127.0.0.1:3000', apiKey });
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new CliError(firstLine(err));
  }
}

function recalcCommand(p: Parsed, rest: string[]): Promise<number> {
  allowOnly(p, 'recalc', ['dry-run', 'review', 'credit', 'follow', 'incremental']);
  noExtraArgs(rest, 'recalc');
  if (p.values['dry-run'] && p.values.review) throw new UsageError('give --dry-run or --review, not both');
  if (p.values.incremental && p.values.credit) throw new UsageError('give --incremental or --credit, not both');
  const bad = (p.values.credit ?? []).find((id) => !UUID.test(id));
  if (bad) throw new UsageError(`"${bad}" is not a credit id (a UUID)`);
  return throughApi('recalc', 'admin', (api) =>
    runRecalc({
      ...api,
      mode: p.values['dry-run'] ? 'DRY_RUN' : p.values.review ? 'REVIEW' : 'CORRECT',
      creditIds: p.values.credit,
      incremental: p.values.incremental,
      follow: p.values.follow ?? false,
      out: process.stdout,
    }),
  );
}

function paymentsCommand(p: Parsed, rest: string[]): Promise<number> {
  allowOnly(p, 'payments import', ['dry-run', 'follow']);
  const [sub, file, ...extra] = rest;
  if (sub !== 'import' || !file) throw new UsageError('usage: payments import FILE [--dry-run] [--follow]');
  noExtraArgs(extra, 'payments import');
  return throughApi('payments import', 'operator', (api) => {
    if (!fs.existsSync(file)) throw new UsageError(`no such file: ${file}`);
    return runPaymentsImport({ ...api, file, dryRun: p.values['dry-run'] ?? false, follow: p.values.follow ?? false, out: process.stdout });
  });
}

function importCommand(p: Parsed, rest: string[]): Promise<number> {
  allowOnly(p, 'import', ['credits', 'payments', 'mapping', 'dry-run', 'follow']);
  noExtraArgs(rest, 'import');
  const { credits, payments, mapping } = p.values;
  if (!credits || !payments) throw new UsageError('usage: import --credits FILE --payments FILE [--mapping FILE] [--dry-run] [--follow]');
  for (const f of [credits, payments, mapping]) if (f && !fs.existsSync(f)) throw new UsageError(`no such file: ${f}`);
  return throughApi('import', 'admin', (api) => runImport({ ...api, credits, payments, mapping, dryRun: p.values['dry-run'] ?? false, follow: p.values.follow ?? false, out: process.stdout }));
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
    case 'keys':
      await keysCommand(p, rest);
      return 0;
    case 'recalc':
      return recalcCommand(p, rest);
    case 'verification':
      allowOnly(p, 'verification', ['days', 'json']);
      noExtraArgs(rest, 'verification');
      return verificationCommand(p.values.days, p.values.json ?? false);
    case 'payments':
      return paymentsCommand(p, rest);
    case 'import':
      return importCommand(p, rest);
    case 'audit': {
      const [sub, ...args] = rest;
      if (sub === 'verify') return auditVerify(p, args);
      if (sub === undefined) throw new UsageError('missing audit command (verify)');
      throw new UsageError(`unknown audit command "${sub}" (expected verify)`);
    }
    default:
      throw new UsageError(`unknown command "${command}" (expected migrate, keys, recalc, verification, payments, import or audit); see \`npm run cli -- help\``);
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

