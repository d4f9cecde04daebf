import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { changedSinceImport, Decimal, Difference, formatMoney, LegacyPaymentFigures, legacyPaymentOrder, reconcileCredit, termsRefused } from '../domain';
import { legacyTerms } from '../imports/legacy-terms';
import type { LegacyCreditRow } from '../imports/legacy-rows';
import { runLegacyPayments } from './legacy-book';
import type { ImportChunkTotals, WorkflowRef } from '../workflows/types';
import type { AuditEntry } from './audit';
import { insertCredits, NewCredit } from './credits';
import { keyedUuid } from './idempotency-keys';
import { copyRuns, Placed } from './ledger';
import { copyPaymentRows, PaymentRow } from './payments';
import { copyRows } from './statement';
import type { ImportMode, ImportRow } from './imports';

/**
 * One chunk of an import: the legacy credits with ids in (lo, hi], in one transaction. Each credit's terms go through
 * the domain (refused: TERMS_REFUSED), its payments through the domain's waterfall in (payment date, legacy id)
 * order, and the reconciliation lists where the legacy figures differ. APPLY also creates the credits (externalId =
 * legacy id), their payments and allocations through the one writers, and each credit's first audit entry
 * (credit.imported: the legacy values and the differences). A credit an earlier import loaded is left as it is:
 * unchanged legacy rows are counted as such, changed ones are refused (ALREADY_IMPORTED_DIFFERENTLY). The chunk's
 * row is written in the same transaction, so a retried chunk finds it and changes nothing twice.
 */

export interface ImportChunkInput {
  importId: string;
  lo: string;
  hi: string;
  actor: string | null;
  wf: WorkflowRef;
}

export type { ImportChunkTotals };

interface StagedCredit {
  line_number: number;
  legacy_id: string;
  client_id: string;
  amount: string;
  interest_rate: string;
  total_installments: number;
  start_date: string;
  total_amount: string;
  installment_amount: string;
  paid_installments: number;
  balance: string;
  total_paid: string;
  schedule_type: string | null;
  period_days: number | null;
  status: string | null;
}

interface StagedPayment {
  legacy_id: string;
  credit_legacy_id: string;
  amount: string;
  payment_date: string;
  installment_number: number | null;
  principal_portion: string | null;
  interest_portion: string | null;
}

type Existing = { id: string; external_id: string; legacy_digest: string | null; legacy: Record<string, string | null> | null };

const LEGACY_FIELDS = ['client_id', 'amount', 'interest_rate', 'total_installments', 'start_date', 'total_amount', 'installment_amount', 'paid_installments', 'balance', 'total_paid', 'schedule_type', 'period_days', 'status'] as const;
const text = (v: unknown) => (v === null || v === undefined ? null : String(v));

const figuresOf = (p: StagedPayment): LegacyPaymentFigures => ({
  legacyId: p.legacy_id,
  amount: p.amount,
  paymentDate: p.payment_date,
  installmentNumber: p.installment_number,
  principalPortion: p.principal_portion,
  interestPortion: p.interest_portion,
});

/** The legacy values of a credit as they were imported (its payments by count and digest): what a re-import compares. */
function legacySnapshot(c: StagedCredit, payments: LegacyPaymentFigures[]): Record<string, string | null> {
  const out: Record<string, string | null> = Object.fromEntries(LEGACY_FIELDS.map((f) => [f, text(c[f])]));
  const h = createHash('sha256');
  for (const p of payments) h.update(JSON.stringify([p.legacyId, p.amount, p.paymentDate, p.installmentNumber, p.principalPortion, p.interestPortion]));
  out.payments = `${payments.length} payments, sha256 ${h.digest('hex').slice(0, 16)}`;
  return out;
}

const digestOf = (snapshot: Record<string, string | null>) => createHash('sha256').update(JSON.stringify(snapshot)).digest('hex');

function legacyRowOf(c: StagedCredit): LegacyCreditRow {
  return {
    line: c.line_number,
    id: c.legacy_id,
    clientId: c.client_id,
    amount: c.amount,
    interestRate: c.interest_rate,
    totalInstallments: c.total_installments,
    startDate: c.start_date,
    totalAmount: c.total_amount,
    installmentAmount: c.installment_amount,
    paidInstallments: c.paid_installments,
    balance: c.balance,
    totalPaid: c.total_paid,
    scheduleType: c.schedule_type ?? undefined,
    periodDays: c.period_days ?? undefined,
    status: c.status ?? undefined,
  };
}

export const importedCreditId = (legacyId: string) => keyedUuid('legacy-credit', legacyId);
export const importedPaymentKey = (creditLegacyId: string, paymentLegacyId: string) => `legacy:${creditLegacyId}:${paymentLegacyId}`;

/**
 * What one chunk writes, gathered credit by credit and written a slice of `WRITE_CREDITS` credits at a time (the
 * rows are dropped once written; the totals run on), so a chunk's memory does not grow with its size.
 */
const WRITE_CREDITS = 250;
class ChunkWrites {
  credits: NewCredit[] = [];
  imported: Array<{ creditId: string; legacyId: string; digest: string; legacy: Record<string, string | null> }> = [];
  payments: PaymentRow[] = [];
  runs: Parameters<typeof copyRuns>[1] = [];
  appended: Placed[] = [];
  audit: AuditEntry[] = [];
  differences: Array<Difference & { legacyCreditId: string; creditId: string | null }> = [];
  totals: ImportChunkTotals = { credits: 0, loaded: 0, unchanged: 0, refused: 0, withDifferences: 0, paymentsApplied: 0, paymentsNotApplied: 0, amountApplied: '0.00' };
  amount = new Decimal(0);

  /** The written rows forgotten; the totals kept. */
  written(): void {
    this.credits = [];
    this.imported = [];
    this.payments = [];
    this.runs = [];
    this.appended = [];
    this.audit = [];
    this.differences = [];
  }

  differ(legacyCreditId: string, creditId: string | null, found: Difference[]): void {
    if (found.length > 0) this.totals.withDifferences++;
    for (const d of found) this.differences.push({ ...d, legacyCreditId, creditId });
  }
}

/** A new credit: its terms, its payments through the waterfall, its differences; in APPLY, what to write. */
function importCredit(w: ChunkWrites, imp: ImportRow, c: StagedCredit, payments: StagedPayment[], input: ImportChunkInput): void {
  const terms = legacyTerms(legacyRowOf(c), imp.mapping);
  if (!terms.ok) {
    w.totals.refused++;
    const field = terms.reason.field;
    const legacyField = field === 'principal' ? 'amount' : field === 'installments' ? 'total_installments' : field === 'interestRate' ? 'interest_rate' : field;
    const value = legacyField && legacyField in c ? text(c[legacyField as keyof StagedCredit]) : null;
    w.differ(c.legacy_id, null, [termsRefused(legacyField, value, c.amount, `${terms.reason.message} (${terms.reason.code})`)]);
    return;
  }
  const creditId = importedCreditId(c.legacy_id);
  // Each payment's id once (a hash): the run, its row, its allocations and the audit entry all name it.
  const ids = new Map<LegacyPaymentFigures, string>();
  const paymentId = (p: LegacyPaymentFigures) => ids.get(p) ?? ids.set(p, keyedUuid('payment', importedPaymentKey(c.legacy_id, p.legacyId))).get(p)!;
  const run = runLegacyPayments(terms.schedule, payments.map(figuresOf), paymentId);
  const found = reconcileCredit({ totalAmount: c.total_amount, installmentAmount: c.installment_amount, paidInstallments: c.paid_installments, balance: c.balance, totalPaid: c.total_paid }, run.ordered, run.computation);
  w.totals.loaded++;
  w.differ(c.legacy_id, imp.mode === 'APPLY' ? creditId : null, found);
  const applied = run.results.flatMap((r, i) => (r.ok ? [{ r, p: run.ordered[i] }] : []));
  w.totals.paymentsApplied += applied.length;
  w.totals.paymentsNotApplied += run.results.length - applied.length;
  for (const { p } of applied) w.amount = w.amount.plus(p.amount);
  if (imp.mode !== 'APPLY') return;
  const snapshot = legacySnapshot(c, run.ordered);
  const state = run.computation.state;
  w.credits.push({ id: creditId, input: terms.input, terms: terms.terms, schedule: terms.schedule });
  w.imported.push({ creditId, legacyId: c.legacy_id, digest: digestOf(snapshot), legacy: snapshot });
  for (const { r, p } of applied) {
    if (!r.ok) continue;
    const key = importedPaymentKey(c.legacy_id, p.legacyId);
    const placed: Placed = { creditId, paymentId: paymentId(p), seq: r.seq, allocation: r.allocation };
    w.payments.push({ req: { paymentId: paymentId(p), creditId, amount: formatMoney(new Decimal(p.amount)), paymentDate: p.paymentDate, reference: `legacy payment ${p.legacyId}`, idempotencyKey: key, actor: input.actor }, placed });
    w.appended.push(placed);
  }
  w.runs.push({ creditId, state, lastSeq: run.lastSeq });
  w.audit.push({
    action: 'credit.imported',
    creditId,
    actor: input.actor,
    workflowId: input.wf.workflowId,
    runId: input.wf.runId,
    dedupeKey: `credit:${creditId}:imported`,
    details: {
      importId: input.importId,
      legacyId: c.legacy_id,
      legacy: snapshot,
      abono: { totalAmount: formatMoney(terms.schedule.totalAmount), installmentAmount: formatMoney(terms.schedule.installmentAmount), totalPaid: formatMoney(state.totalPaid), balance: formatMoney(state.balance), paidInstallments: state.paidInstallments, status: state.status },
      payments: applied.map(({ p }) => ({ legacyId: p.legacyId, paymentId: paymentId(p), amount: p.amount, paymentDate: p.paymentDate })),
      differences: found.map(({ code, field, legacyValue, abonoValue, amountAtStake, paymentLegacyId }) => ({ code, field, legacyValue, abonoValue, amountAtStake, paymentLegacyId })),
    },
  });
}

/** A credit an earlier import (or the API) created under this legacy id: unchanged, or refused. Never overwritten. */
function compareExisting(w: ChunkWrites, existing: Existing, c: StagedCredit, payments: StagedPayment[]): void {
  const now = legacySnapshot(c, payments.map(figuresOf).sort(legacyPaymentOrder));
  if (existing.legacy_digest === null) {
    w.totals.refused++;
    w.differ(c.legacy_id, existing.id, [{ code: 'ALREADY_IMPORTED_DIFFERENTLY', field: 'id', legacyValue: c.legacy_id, abonoValue: existing.external_id, amountAtStake: null, paymentLegacyId: null, detail: `a credit with externalId ${c.legacy_id} exists and was not imported: refused, not overwritten` }]);
  } else if (existing.legacy_digest === digestOf(now)) {
    w.totals.unchanged++;
  } else {
    w.totals.refused++;
    w.differ(c.legacy_id, existing.id, changedSinceImport(existing.legacy ?? {}, now));
  }
}

/** A slice of the chunk's rows, thousands at a time: COPYed through the one writers' bulk paths. */
async function writeRows(m: EntityManager, w: ChunkWrites, input: ImportChunkInput, mode: ImportMode): Promise<void> {
  if (mode === 'APPLY') {
    await insertCredits(m, w.credits, input.actor, 'copy');
    await copyRows(m, 'imported_credits', [
      ['credit_id', 'uuid', w.imported.map((i) => i.creditId)],
      ['legacy_id', 'text', w.imported.map((i) => i.legacyId)],
      ['import_id', 'uuid', w.imported.map(() => input.importId)],
      ['legacy_digest', 'text', w.imported.map((i) => i.digest)],
      ['legacy', 'jsonb', w.imported.map((i) => JSON.stringify(i.legacy))],
    ]);
    // Payments written APPLIED with their place in the ledger, then allocations, states and audit: the file's writers.
    await copyPaymentRows(m, w.payments, input.wf);
    await copyRuns(m, w.runs, w.appended, w.audit);
  }
  const d = w.differences;
  const n = new Map<string, number>();
  await copyRows(m, 'import_differences', [
    ['import_id', 'uuid', d.map(() => input.importId)],
    ['legacy_credit_id', 'text', d.map((x) => x.legacyCreditId)],
    ['n', 'int', d.map((x) => n.set(x.legacyCreditId, (n.get(x.legacyCreditId) ?? 0) + 1).get(x.legacyCreditId))],
    ['credit_id', 'uuid', d.map((x) => x.creditId)],
    ['code', 'text', d.map((x) => x.code)],
    ['field', 'text', d.map((x) => x.field)],
    ['legacy_value', 'text', d.map((x) => x.legacyValue)],
    ['abono_value', 'text', d.map((x) => x.abonoValue)],
    ['amount_at_stake', 'numeric', d.map((x) => x.amountAtStake)],
    ['payment_legacy_id', 'text', d.map((x) => x.paymentLegacyId)],
    ['detail', 'text', d.map((x) => x.detail)],
  ]);
  w.written();
}

/** The chunk's own row, its totals: written last, in the chunk's transaction, so a retry finds the chunk done. */
async function finishChunk(m: EntityManager, w: ChunkWrites, input: ImportChunkInput): Promise<void> {
  const t = w.totals;
  t.amountApplied = formatMoney(w.amount);
  await m.query(
    `INSERT INTO import_chunks (import_id, lo, credits, loaded, unchanged, refused, with_differences, payments_applied, payments_not_applied, amount_applied) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
    [input.importId, input.lo, t.credits, t.loaded, t.unchanged, t.refused, t.withDifferences, t.paymentsApplied, t.paymentsNotApplied, t.amountApplied],
  );
}

/** Imports a chunk (see the module comment). Answers its totals, the stored ones when it ran before. */
export async function applyImportChunk(ds: DataSource, input: ImportChunkInput): Promise<ImportChunkTotals> {
  return ds.transaction(async (m) => {
    const [done] = await m.query(`SELECT * FROM import_chunks WHERE import_id = $1 AND lo = $2`, [input.importId, input.lo]);
    if (done) {
      const { credits, loaded, unchanged, refused, with_differences, payments_applied, payments_not_applied, amount_applied } = done;
      return { credits, loaded, unchanged, refused, withDifferences: with_differences, paymentsApplied: payments_applied, paymentsNotApplied: payments_not_applied, amountApplied: amount_applied };
    }
    const [imp]: ImportRow[] = await m.query(`SELECT * FROM imports WHERE id = $1`, [input.importId]);
    const range = [input.importId, input.lo, input.hi];
    const credits: StagedCredit[] = await m.query(`SELECT * FROM import_credits WHERE import_id = $1 AND legacy_id > $2 AND legacy_id <= $3 ORDER BY legacy_id`, range);
    const payments: StagedPayment[] = await m.query(`SELECT * FROM import_payments WHERE import_id = $1 AND credit_legacy_id > $2 AND credit_legacy_id <= $3`, range);
    const existing: Existing[] = await m.query(
      `SELECT c.id, c.external_id, i.legacy_digest, i.legacy FROM credits c LEFT JOIN imported_credits i ON i.credit_id = c.id WHERE c.external_id = ANY($1::text[])`,
      [credits.map((c) => c.legacy_id)],
    );
    const byCredit = new Map<string, StagedPayment[]>();
    for (const p of payments) (byCredit.get(p.credit_legacy_id) ?? byCredit.set(p.credit_legacy_id, []).get(p.credit_legacy_id)!).push(p);
    const found = new Map(existing.map((e) => [e.external_id, e]));
    const w = new ChunkWrites();
    for (const [i, c] of credits.entries()) {
      w.totals.credits++;
      const own = byCredit.get(c.legacy_id) ?? [];
      const before = found.get(c.legacy_id);
      if (before) compareExisting(w, before, c, own);
      else importCredit(w, imp, c, own, input);
      if ((i + 1) % WRITE_CREDITS === 0 || i === credits.length - 1) await writeRows(m, w, input, imp.mode);
    }
    await finishChunk(m, w, input);
    return w.totals;
  });
}
