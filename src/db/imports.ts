import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { DataSource } from 'typeorm';
import { LegacyCreditRow, LegacyFileError, LegacyPaymentRow, readLegacyCredits, readLegacyPayments } from '../imports/legacy-rows';
import type { LegacyMapping } from '../imports/mapping';
import { csvLine } from './csv-stream';
import { inCopyTransaction } from './copy-transaction';

/**
 * The one writer of imports rows and of the legacy rows they staged. An import is recorded whole or not at all:
 * its row and both files' rows go in one transaction (COPY, as the files are read), so a file that turns out
 * unreadable at its last line leaves nothing behind.
 */

export type ImportMode = 'APPLY' | 'DRY_RUN';
export type ImportStatus = 'RECEIVED' | 'RUNNING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';
export type LegacyFile = 'credits' | 'payments';

export interface ImportRow {
  id: string;
  mode: ImportMode;
  status: ImportStatus;
  credits_digest: string;
  payments_digest: string;
  mapping: LegacyMapping;
  credit_count: number;
  payment_count: number;
  workflow_id: string;
  actor: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface NewImport {
  id: string;
  mode: ImportMode;
  mapping: LegacyMapping;
  workflowId: string;
  actor: string | null;
}

type Query = Pick<DataSource, 'query'>;

export async function findImport(q: Query, id: string): Promise<ImportRow | undefined> {
  const rows: ImportRow[] = await q.query(`SELECT * FROM imports WHERE id = $1`, [id]);
  return rows[0];
}

const CREDIT_COLUMNS =
  'import_id, line_number, legacy_id, client_id, amount, interest_rate, total_installments, start_date, total_amount, installment_amount, paid_installments, balance, total_paid, schedule_type, period_days, status';
const PAYMENT_COLUMNS = 'import_id, line_number, legacy_id, credit_legacy_id, amount, payment_date, installment_number, principal_portion, interest_portion';

const creditValues = (id: string, r: LegacyCreditRow) => [
  id, r.line, r.id, r.clientId, r.amount, r.interestRate, r.totalInstallments, r.startDate, r.totalAmount, r.installmentAmount, r.paidInstallments, r.balance, r.totalPaid, r.scheduleType, r.periodDays, r.status,
];
const paymentValues = (id: string, r: LegacyPaymentRow) => [id, r.line, r.id, r.creditId, r.amount, r.paymentDate, r.installmentNumber, r.principalPortion, r.interestPortion];

/** Rows as COPY csv text, 64 KB at a time, counted as they pass. */
async function* copyText<R>(rows: AsyncIterable<R>, values: (r: R) => unknown[], counted: { rows: number }): AsyncGenerator<string> {
  let chunk = '';
  for await (const r of rows) {
    counted.rows++;
    chunk += csvLine(values(r));
    if (chunk.length >= 64 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

/** COPYs one legacy file into its staging table; answers its row count and the sha256 of its bytes. */
async function stageFile(client: PoolClient, imp: NewImport, name: LegacyFile, body: Readable): Promise<{ rows: number; digest: string }> {
  const hash = createHash('sha256');
  const hashing = new Transform({ transform: (c: Buffer, _e, done) => (hash.update(c), done(null, c)) });
  body.on('error', (e) => hashing.destroy(e));
  const input = body.pipe(hashing);
  const counted = { rows: 0 };
  const text =
    name === 'credits'
      ? copyText(readLegacyCredits(input, imp.mapping), (r) => creditValues(imp.id, r), counted)
      : copyText(readLegacyPayments(input, imp.mapping), (r) => paymentValues(imp.id, r), counted);
  const table = name === 'credits' ? `import_credits (${CREDIT_COLUMNS})` : `import_payments (${PAYMENT_COLUMNS})`;
  await pipeline(Readable.from(text), client.query(copyFrom(`COPY ${table} FROM STDIN WITH (FORMAT csv)`)));
  return { rows: counted.rows, digest: hash.digest('hex') };
}

/** A legacy id the file holds twice stops the file at its second line: a credit (or a credit's payment) is one row. */
async function refuseDuplicates(client: PoolClient, id: string): Promise<void> {
  for (const [table, file, what] of [['import_credits', 'credits.csv', 'credit'], ['import_payments', 'payments.csv', 'payment']]) {
    const found = await client.query(
      `SELECT legacy_id, min(line_number) AS first, (array_agg(line_number ORDER BY line_number))[2] AS second FROM ${table}
        WHERE import_id = $1 GROUP BY legacy_id HAVING count(*) > 1 ORDER BY 3 LIMIT 1`,
      [id],
    );
    const r = found.rows[0];
    if (r) throw new LegacyFileError('LEGACY_FILE_MALFORMED', file, r.second, 'id', 'id', `${file}, line ${r.second}, column id: ${what} ${r.legacy_id} is also on line ${r.first}`);
  }
}

/**
 * Records an import: its row (RECEIVED) and both files' rows, read from the parts as they arrive (in either order)
 * and COPYed, in one transaction. Throws LegacyFileError (nothing recorded) when a file cannot be read.
 */
export async function recordImport(ds: DataSource, imp: NewImport, parts: AsyncIterable<{ name: LegacyFile; body: Readable }>): Promise<{ credits: number; payments: number }> {
  return inCopyTransaction(ds, async (client) => {
    await client.query(`INSERT INTO imports (id, mode, status, credits_digest, payments_digest, mapping, workflow_id, actor) VALUES ($1,$2,'RECEIVED','','',$3,$4,$5)`, [
      imp.id,
      imp.mode,
      JSON.stringify(imp.mapping),
      imp.workflowId,
      imp.actor,
    ]);
    const staged: Partial<Record<LegacyFile, { rows: number; digest: string }>> = {};
    for await (const part of parts) {
      if (staged[part.name]) throw new LegacyFileError('LEGACY_FILE_MALFORMED', `${part.name}.csv`, 1, null, null, `the ${part.name} file was sent twice`);
      staged[part.name] = await stageFile(client, imp, part.name, part.body);
    }
    const { credits, payments } = staged;
    if (!credits || !payments) throw new LegacyFileError('LEGACY_FILE_HEADER', `${credits ? 'payments' : 'credits'}.csv`, 1, null, null, 'a file is missing: send both credits and payments');
    if (credits.rows === 0) throw new LegacyFileError('LEGACY_VALUE_MISSING', 'credits.csv', 2, null, null, 'credits.csv holds no credits');
    await refuseDuplicates(client, imp.id);
    await client.query(`UPDATE imports SET credits_digest = $2, payments_digest = $3, credit_count = $4, payment_count = $5 WHERE id = $1`, [imp.id, credits.digest, payments.digest, credits.rows, payments.rows]);
    return { credits: credits.rows, payments: payments.rows };
  });
}

export async function markImport(q: Query, id: string, status: ImportStatus): Promise<void> {
  const finished = status === 'RUNNING' ? '' : ', finished_at = coalesce(finished_at, now())';
  await q.query(`UPDATE imports SET status = $2, started_at = coalesce(started_at, now())${finished} WHERE id = $1 AND finished_at IS NULL`, [id, status]);
}

/**
 * Before the first chunk: a payment whose credit the credits file does not hold is listed (PAYMENT_REFUSED, it
 * cannot be applied), and the import is RUNNING. A retry finds it done. Undefined when the import was never recorded.
 */
export async function prepareImport(ds: DataSource, id: string): Promise<{ credits: number; payments: number; orphans: number } | undefined> {
  return ds.transaction(async (m) => {
    const [imp]: ImportRow[] = await m.query(`SELECT * FROM imports WHERE id = $1 FOR UPDATE`, [id]);
    if (!imp) return undefined;
    await m.query(
      `INSERT INTO import_differences (import_id, legacy_credit_id, n, code, field, legacy_value, amount_at_stake, payment_legacy_id, detail)
       SELECT $1, p.credit_legacy_id, row_number() OVER (PARTITION BY p.credit_legacy_id ORDER BY p.line_number), 'PAYMENT_REFUSED', 'credit_id',
              p.credit_legacy_id, round(abs(p.amount), 2), p.legacy_id, 'payment ' || p.legacy_id || ' (payments.csv line ' || p.line_number || ') names credit ' || p.credit_legacy_id || ', which the credits file does not hold'
         FROM import_payments p
        WHERE p.import_id = $1 AND NOT EXISTS (SELECT 1 FROM import_credits c WHERE c.import_id = $1 AND c.legacy_id = p.credit_legacy_id)
       ON CONFLICT DO NOTHING`,
      [id],
    );
    await markImport(m, id, 'RUNNING');
    const [n]: Array<{ n: number }> = await m.query(`SELECT count(*)::int AS n FROM import_differences WHERE import_id = $1 AND field = 'credit_id' AND code = 'PAYMENT_REFUSED'`, [id]);
    return { credits: imp.credit_count, payments: imp.payment_count, orphans: n.n };
  });
}

/** The upper bounds (legacy ids) of the next `count` chunks of `credits` credits each, after legacy id `after`. */
export async function planImportChunks(q: Query, id: string, after: string, credits: number, count: number): Promise<string[]> {
  const rows: Array<{ legacy_id: string }> = await q.query(
    `WITH next AS (SELECT legacy_id, row_number() OVER (ORDER BY legacy_id) AS k FROM (SELECT legacy_id FROM import_credits WHERE import_id = $1 AND legacy_id > $2 ORDER BY legacy_id LIMIT $3::int * $4::int) s)
     SELECT legacy_id FROM next WHERE k % $3::int = 0 OR k = (SELECT max(k) FROM next) ORDER BY k`,
    [id, after, credits, count],
  );
  return rows.map((r) => r.legacy_id);
}
