import type { Writable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { DIFFERENCE_CODES, DifferenceCode } from '../domain';
import { findImport } from '../db/imports';
import { streamCsv } from '../db/csv-stream';
import { NotFoundError } from '../errors';
import { TemporalUi, workflowUrl } from '../client/temporal';

/** An import as the lender reads it: status, progress, counts and amounts at stake by code, its differences. Read-only. */

async function found(ds: DataSource, id: string) {
  const imp = await findImport(ds, id);
  if (!imp) throw new NotFoundError('IMPORT_NOT_FOUND', `import ${id} does not exist`);
  return imp;
}

export async function getImport(ds: DataSource, ui: TemporalUi, id: string) {
  const imp = await found(ds, id);
  const byCode: Array<{ code: DifferenceCode; n: number; credits: number; amount: string | null }> = await ds.query(
    `SELECT code, count(*)::int AS n, count(DISTINCT legacy_credit_id)::int AS credits, sum(amount_at_stake)::text AS amount FROM import_differences WHERE import_id = $1 GROUP BY code`,
    [id],
  );
  const [t] = await ds.query(
    `SELECT count(*)::int AS chunks, coalesce(sum(credits), 0)::int AS credits, coalesce(sum(loaded), 0)::int AS loaded, coalesce(sum(unchanged), 0)::int AS unchanged,
            coalesce(sum(refused), 0)::int AS refused, coalesce(sum(with_differences), 0)::int AS with_differences, coalesce(sum(payments_applied), 0)::int AS payments_applied,
            coalesce(sum(payments_not_applied), 0)::int AS payments_not_applied, coalesce(sum(amount_applied), 0)::numeric(18,2)::text AS amount_applied
       FROM import_chunks WHERE import_id = $1`,
    [id],
  );
  const differences = Object.fromEntries(DIFFERENCE_CODES.map((c) => [c, { count: 0, credits: 0, amountAtStake: '0.00' }]));
  for (const r of byCode) differences[r.code] = { count: r.n, credits: r.credits, amountAtStake: r.amount ?? '0.00' };
  const ms = (a: Date | null, z: Date | null) => (a && z ? z.getTime() - a.getTime() : null);
  return {
    id: imp.id,
    mode: imp.mode,
    status: imp.status,
    files: { credits: { rows: imp.credit_count, sha256: imp.credits_digest }, payments: { rows: imp.payment_count, sha256: imp.payments_digest } },
    progress: { creditsDone: t.credits, creditsTotal: imp.credit_count, chunks: t.chunks },
    credits: { loaded: t.loaded, unchanged: t.unchanged, refused: t.refused, withDifferences: t.with_differences },
    payments: { applied: t.payments_applied, amountApplied: t.amount_applied },
    differences,
    createdAt: imp.created_at.toISOString(),
    startedAt: imp.started_at?.toISOString() ?? null,
    finishedAt: imp.finished_at?.toISOString() ?? null,
    durationsMs: { queued: ms(imp.created_at, imp.started_at), running: ms(imp.started_at, imp.finished_at), total: ms(imp.created_at, imp.finished_at) },
    actor: imp.actor,
    workflowId: imp.workflow_id,
    temporalUiUrl: workflowUrl(ui, imp.workflow_id),
  };
}

/** The most recent imports first, keyset-paged by (created_at, id); each as getImport answers it. */
export async function listImports(ds: DataSource, ui: TemporalUi, q: { before?: string; limit: number }) {
  const params: unknown[] = [q.limit];
  const before = q.before ? `WHERE (created_at, id) < (SELECT created_at, id FROM imports WHERE id = $${params.push(q.before)})` : '';
  const ids: Array<{ id: string }> = await ds.query(`SELECT id FROM imports ${before} ORDER BY created_at DESC, id DESC LIMIT $1`, params);
  const imports = [];
  for (const { id } of ids) imports.push(await getImport(ds, ui, id));
  return { imports, next: imports.length === q.limit ? imports[imports.length - 1].id : null };
}

const DIFFERENCE_SQL = `SELECT legacy_credit_id, n, credit_id, code, field, legacy_value, abono_value, amount_at_stake, payment_legacy_id, detail
                          FROM import_differences WHERE import_id = $1`;

function differenceView(r: Record<string, unknown>) {
  return {
    legacyCreditId: r.legacy_credit_id,
    creditId: r.credit_id,
    code: r.code,
    field: r.field,
    legacyValue: r.legacy_value,
    abonoValue: r.abono_value,
    amountAtStake: r.amount_at_stake,
    paymentLegacyId: r.payment_legacy_id,
    detail: r.detail,
  };
}
export const DIFFERENCE_CSV_COLUMNS = ['legacyCreditId', 'creditId', 'code', 'field', 'legacyValue', 'abonoValue', 'amountAtStake', 'paymentLegacyId', 'detail'];

/** The cursor of a page: the last difference's (legacy credit id, ordinal), opaque to the client. */
const cursorOf = (r: { legacy_credit_id: string; n: number }) => Buffer.from(JSON.stringify([r.legacy_credit_id, r.n])).toString('base64url');
export function parseDifferenceCursor(cursor: string): [string, number] | undefined {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return Array.isArray(v) && typeof v[0] === 'string' && Number.isInteger(v[1]) ? [v[0], v[1]] : undefined;
  } catch {
    return undefined;
  }
}

/** A page of an import's differences by legacy credit id, optionally of one code; `next` is the next page's cursor. */
export async function listDifferences(ds: DataSource, id: string, q: { code?: DifferenceCode; after?: [string, number]; limit: number }) {
  await found(ds, id);
  const params: unknown[] = [id, q.limit];
  const code = q.code ? `AND code = $${params.push(q.code)}` : '';
  const after = q.after ? `AND (legacy_credit_id, n) > ($${params.push(q.after[0])}, $${params.push(q.after[1])})` : '';
  const rows: Array<Record<string, unknown> & { legacy_credit_id: string; n: number }> = await ds.query(`${DIFFERENCE_SQL} ${code} ${after} ORDER BY legacy_credit_id, n LIMIT $2`, params);
  return { differences: rows.map(differenceView), next: rows.length === q.limit ? cursorOf(rows[rows.length - 1]) : null };
}

/** Every difference (of one code) as CSV, streamed. */
export async function streamDifferencesCsv(ds: DataSource, id: string, code: DifferenceCode | undefined, out: Writable): Promise<void> {
  await found(ds, id);
  const params: unknown[] = [id];
  const filter = code ? `AND code = $${params.push(code)}` : '';
  await streamCsv(ds, `${DIFFERENCE_SQL} ${filter} ORDER BY legacy_credit_id, n`, params, DIFFERENCE_CSV_COLUMNS, differenceView, out);
}
