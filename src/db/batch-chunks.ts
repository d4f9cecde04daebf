import type { DataSource, EntityManager } from 'typeorm';
import { Decimal, formatMoney, sumMoney, validatePaymentDate } from '../domain';
import type { PaymentRequest, Refusal, WorkflowRef } from '../workflows/types';
import type { AuditEntry } from './audit';
import { loadSchedules } from './credits';
import { existingKeys, LineKey, paymentIdForKey, recordKeys, requestHash } from './idempotency-keys';
import { appendRun, copyRuns, lockCredits, Placed, RunResult } from './ledger';
import { appliedEntry, copyPaymentRows, PaymentRow, refusalOf, rejectedEntry } from './payments';
import { copyRows } from './statement';
import type { CreditRow } from './rows';
import { paymentFileChunkSeconds } from '../observability/metrics';

/**
 * One chunk of a payment file: the lines of the credits in (lo, hi], applied in one transaction. The credits are
 * locked in id order, each credit's lines go through the domain's applyPayment in file order, and the payments,
 * allocations, credit states, audit entries and line outcomes are written together. The chunk's row is written in
 * the same transaction, so a retried chunk finds it and changes nothing twice.
 */

export interface ChunkInput {
  batchId: string;
  lo: string;
  hi: string;
  mode: 'APPLY' | 'DRY_RUN';
  today: string;
  actor: string | null;
  wf: WorkflowRef;
}

export interface ChunkTotals {
  applied: number;
  rejected: number;
  duplicate: number;
  amountApplied: string;
}

interface LineRow {
  line_number: number;
  credit_id: string;
  amount: string;
  payment_date: string | null;
  reference: string | null;
  line_key: string;
  /** The line as a payment request, made once (its id is a hash of its key). */
  request?: PaymentRequest;
}

type Outcome = { line: number; status: 'APPLIED' | 'WOULD_APPLY' | 'REJECTED' | 'DUPLICATE'; paymentId: string | null; refusal?: Refusal };

const LAST_ID = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

/**
 * The upper bounds of the next `count` chunks of about `lines` lines each, after credit `after`. Chunks go forward
 * by credit, so every line past `after` is still to apply (a line refused before the chunks, for its unknown
 * credit, is counted here and skipped by its chunk).
 */
export async function planBatchChunks(ds: DataSource, batchId: string, after: string, lines: number, count: number): Promise<string[]> {
  const bounds: string[] = [];
  let lo = after;
  while (bounds.length < count) {
    const next: Array<{ credit_id: string }> = await ds.query(
      `SELECT credit_id FROM payment_batch_lines WHERE batch_id = $1 AND credit_id > $2 ORDER BY credit_id, line_number OFFSET $3 LIMIT 1`,
      [batchId, lo, lines - 1],
    );
    if (next[0]) {
      bounds.push((lo = next[0].credit_id));
      continue;
    }
    const any: unknown[] = await ds.query(`SELECT 1 FROM payment_batch_lines WHERE batch_id = $1 AND credit_id > $2 LIMIT 1`, [batchId, lo]);
    if (any.length > 0) bounds.push(LAST_ID);
    break;
  }
  return bounds;
}

/** The lines of the credits in (lo, hi] that have no outcome yet, by credit then file order. */
export function pendingLines<T>(m: Pick<EntityManager, 'query'>, columns: string, c: { batchId: string; lo: string; hi: string }): Promise<T[]> {
  return m.query(
    `SELECT ${columns} FROM payment_batch_lines l
      WHERE l.batch_id = $1 AND l.credit_id > $2 AND l.credit_id <= $3
        AND NOT EXISTS (SELECT 1 FROM payment_batch_outcomes o WHERE o.batch_id = l.batch_id AND o.line_number = l.line_number)
      ORDER BY l.credit_id, l.line_number`,
    [c.batchId, c.lo, c.hi],
  );
}

/**
 * Records a finished chunk: each line's outcome (insert-only: written once, by the chunk that decided it; COPYed,
 * thousands at a time) and the chunk's row with its totals, found by a retry of the chunk, which then changes nothing.
 */
export async function recordChunk(
  m: EntityManager,
  c: { batchId: string; lo: string },
  outcomes: Array<{ line: number; status: string; paymentId: string | null; code?: string | null; reason?: string | null }>,
  totals: ChunkTotals,
): Promise<void> {
  await copyRows(m, 'payment_batch_outcomes', [
    ['batch_id', 'uuid', outcomes.map(() => c.batchId)],
    ['line_number', 'int', outcomes.map((o) => o.line)],
    ['status', 'text', outcomes.map((o) => o.status)],
    ['payment_id', 'uuid', outcomes.map((o) => o.paymentId)],
    ['reason_code', 'text', outcomes.map((o) => o.code ?? null)],
    ['reason', 'text', outcomes.map((o) => o.reason ?? null)],
  ]);
  await m.query(`INSERT INTO payment_batch_chunks (batch_id, lo, applied, rejected, duplicate, amount_applied) VALUES ($1,$2,$3,$4,$5,$6)`, [
    c.batchId,
    c.lo,
    totals.applied,
    totals.rejected,
    totals.duplicate,
    totals.amountApplied,
  ]);
}

function requestOf(l: LineRow, input: ChunkInput): PaymentRequest {
  return (l.request ??= {
    paymentId: paymentIdForKey(l.line_key),
    creditId: l.credit_id,
    amount: l.amount,
    paymentDate: l.payment_date ?? input.today,
    reference: l.reference,
    idempotencyKey: l.line_key,
    actor: input.actor,
  });
}

/** Each line's key: recorded now (first use), or the first request's answer (a duplicate, or a reused key). */
async function keysOf(m: EntityManager, lines: LineRow[], input: ChunkInput): Promise<{ taken: Map<string, { request_hash: string; payment_id: string }>; mine: Set<string> }> {
  const first = new Map<string, LineKey>();
  for (const l of lines) {
    if (first.has(l.line_key)) continue;
    const request = requestOf(l, input);
    first.set(l.line_key, { key: l.line_key, requestHash: requestHash({ ...request, paymentDate: l.payment_date }), request });
  }
  const keys = [...first.values()];
  const taken = input.mode === 'APPLY' ? await recordKeys(m, keys) : await existingKeys(m, keys.map((k) => k.key));
  return { taken, mine: new Set(keys.map((k) => k.key).filter((k) => !taken.has(k))) };
}

function refusalFrom(err: unknown): Refusal {
  const refusal = refusalOf(err);
  if (!refusal) throw err;
  return refusal;
}

/** Applies a chunk (see the module comment). Answers its totals, the stored ones when it ran before. */
export async function applyBatchChunk(ds: DataSource, input: ChunkInput): Promise<ChunkTotals> {
  return ds.transaction(async (m) => {
    const done: Array<{ applied: number; rejected: number; duplicate: number; amount_applied: string }> = await m.query(
      `SELECT applied, rejected, duplicate, amount_applied FROM payment_batch_chunks WHERE batch_id = $1 AND lo = $2`,
      [input.batchId, input.lo],
    );
    if (done[0]) return { applied: done[0].applied, rejected: done[0].rejected, duplicate: done[0].duplicate, amountApplied: done[0].amount_applied };
    const step = stepTimer();
    const lines = await pendingLines<LineRow>(m, 'l.line_number, l.credit_id, l.amount, l.payment_date, l.reference, l.line_key', input);
    step('lines');
    const credits = await lockCredits(m, [...new Set(lines.map((l) => l.credit_id))], input.mode === 'APPLY');
    step('locks');
    const keys = await keysOf(m, lines, input);
    step('keys');
    const { outcomes, writes } = await applyLines(m, lines, credits, keys, input);
    const totals = totalsOf(outcomes, lines);
    step('arithmetic');
    // Every payment, allocation and audit entry of the chunk is new (its key was recorded by this chunk), so they go
    // by the writers' bulk path (COPY), as an import's do; then the states, outcomes and the chunk's own row.
    if (input.mode === 'APPLY') {
      await copyPaymentRows(m, writes.payments, input.wf);
      step('payments');
      await copyRuns(m, writes.runs, writes.appended, writes.audit);
      step('ledger');
    }
    await recordChunk(m, input, outcomes.map((o) => ({ ...o, code: o.refusal?.code, reason: o.refusal?.detail })), totals);
    step('outcomes');
    return totals;
  });
}

/** Observes the time since the last step (or since it was made) as the named step of a file's chunk. */
function stepTimer(): (name: string) => void {
  let last = performance.now();
  return (name) => {
    const now = performance.now();
    paymentFileChunkSeconds.observe({ step: name }, (now - last) / 1000);
    last = now;
  };
}

/** What a chunk writes (in APPLY mode): its payment rows, each credit's run, the allocations and audit entries. */
interface ChunkWrites {
  payments: PaymentRow[];
  runs: Parameters<typeof copyRuns>[1];
  appended: Placed[];
  audit: AuditEntry[];
}

/** Each line's outcome, and the rows that write a chunk's payments (none in a dry run). */
async function applyLines(
  m: EntityManager,
  lines: LineRow[],
  credits: CreditRow[],
  keys: Awaited<ReturnType<typeof keysOf>>,
  input: ChunkInput,
): Promise<{ outcomes: Outcome[]; writes: ChunkWrites }> {
  const schedules = await loadSchedules(m, credits);
  const byId = new Map(credits.map((c) => [c.id, c]));
  const outcomes: Outcome[] = [];
  const payments: PaymentRow[] = [];
  const runs: ChunkWrites['runs'] = [];
  const appended: Placed[] = [];
  const audit: AuditEntry[] = [];
  for (let i = 0; i < lines.length; ) {
    const credit = byId.get(lines[i].credit_id)!;
    let j = i;
    while (j < lines.length && lines[j].credit_id === lines[i].credit_id) j++;
    const own: LineRow[] = [];
    for (const l of lines.slice(i, j)) {
      const first = keys.taken.get(l.line_key);
      if (first || !keys.mine.has(l.line_key)) {
        const same = first ? first.request_hash === requestHash({ creditId: l.credit_id, amount: l.amount, paymentDate: l.payment_date, reference: l.reference }) : true;
        const paymentId = first?.payment_id ?? paymentIdForKey(l.line_key);
        outcomes.push(same ? { line: l.line_number, status: 'DUPLICATE', paymentId } : { line: l.line_number, status: 'REJECTED', paymentId: null, refusal: { code: 'IDEMPOTENCY_KEY_REUSED', detail: `line key ${l.line_key} was used with a different payment` } });
      } else {
        keys.mine.delete(l.line_key); // a later line with the same key is a duplicate of this one
        own.push(l);
      }
    }
    i = j;
    if (own.length === 0) continue;
    const reqs = own.map((l) => requestOf(l, input));
    const run = appendRun(schedules.get(credit.id)!, credit, reqs.map((r) => ({ id: r.paymentId, amount: new Decimal(r.amount), paymentDate: r.paymentDate })), (p) =>
      validatePaymentDate(p.paymentDate, credit.start_date, input.today),
    );
    run.results.forEach((r: RunResult, k) => {
      const req = reqs[k];
      const line = own[k].line_number;
      const more = { batchId: input.batchId, line };
      if (!r.ok) {
        const refusal = refusalFrom(r.error);
        outcomes.push({ line, status: 'REJECTED', paymentId: req.paymentId, refusal });
        payments.push({ req, refusal });
        audit.push(rejectedEntry(req, refusal, input.wf, more));
        return;
      }
      const placed = { creditId: credit.id, paymentId: req.paymentId, seq: r.seq, allocation: r.allocation };
      outcomes.push({ line, status: input.mode === 'APPLY' ? 'APPLIED' : 'WOULD_APPLY', paymentId: req.paymentId });
      payments.push({ req, placed });
      appended.push(placed);
      audit.push(appliedEntry(req, r, formatMoney(r.balanceBefore), input.wf, more));
    });
    if (run.lastSeq > credit.last_ledger_seq) runs.push({ creditId: credit.id, state: run.state, lastSeq: run.lastSeq });
  }
  // Payments in their final status, allocations, credit states (with their change marks) and audit entries.
  return { outcomes, writes: { payments, runs, appended, audit } };
}

/** The chunk's totals. */
function totalsOf(outcomes: Outcome[], lines: LineRow[]): ChunkTotals {
  const amountOf = new Map(lines.map((l) => [l.line_number, l.amount]));
  const applied = outcomes.filter((o) => o.status === 'APPLIED' || o.status === 'WOULD_APPLY');
  return {
    applied: applied.length,
    rejected: outcomes.filter((o) => o.status === 'REJECTED').length,
    duplicate: outcomes.filter((o) => o.status === 'DUPLICATE').length,
    amountApplied: formatMoney(sumMoney(applied.map((o) => new Decimal(amountOf.get(o.line)!)))),
  };
}
