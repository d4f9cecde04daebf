import type { EntityManager } from 'typeorm';
// The check's hot path imports each module itself (not through the domain's index and its re-export getters).
import { centsNumberIn, centsOf, centsTextEquals } from '../domain/money';
import { CentsSchedule, LedgerSchedule, centsScheduleOf } from '../domain/ledger-schedule';
import { CentsLine, CentsPayment, CentsState, foldLedger } from '../domain/waterfall-cents';
import { LedgerPayment, decimalState } from '../domain/waterfall';
import { StateDrift, diffState } from '../domain/drift';
import { CreditRow, stateOf } from './rows';

/** A credit's persisted state and allocations against the domain's recomputation from its ledger. */

/** A stored allocation row, its amounts in exact cents as numbers (NaN, equal to nothing, when not whole cents). */
export interface StoredAllocation {
  paymentId: string;
  installmentNumber: number;
  amount: number;
  principal: number;
  interest: number;
  remaining: number;
}

/** The persisted state of a credit, as PostgreSQL prints it (what `stateOf` reads of a credits row). */
export type PersistedState = Pick<CreditRow, 'total_paid' | 'balance' | 'paid_installments' | 'payment_count' | 'last_payment_date' | 'status'>;

/**
 * Persisted state and allocations against the recomputation from the ledger, all in cents (pure). Every field
 * and every allocation row is compared by value with the domain's recomputation, in cents (the stored state's
 * text read straight into cents by centsTextEquals, the allocations' amounts as exact numbers). When something
 * differs, the drift is described exactly as `diffState` and the allocation count do.
 */
export function driftOfCents(credit: PersistedState, schedule: CentsSchedule, ledger: readonly CentsPayment[], stored: StoredAllocation[]): StateDrift[] {
  // Every recomputed line in the order the fold makes them, with its payment: by instalment, then by ledger order
  // (the waterfall never goes back to an earlier instalment), which is the order the stored rows usually come in.
  const lineIds: string[] = [];
  const lines: CentsLine[] = [];
  let s: CentsState;
  try {
    s = foldLedger(schedule, ledger, amountOf, (p, l) => {
      for (let k = 0; k < l.length; k++) {
        lineIds.push(p.id);
        lines.push(l[k]);
      }
    });
  } catch (err) {
    // A ledger the domain refuses (e.g. more paid than owed) is drift too.
    return [{ field: 'ledger', persisted: `${ledger.length} payments`, recomputed: (err as Error).message }];
  }
  const sameState =
    centsTextEquals(s.totalPaid, credit.total_paid) &&
    centsTextEquals(schedule.totalAmount - s.totalPaid, credit.balance) &&
    s.paidInstallments === credit.paid_installments &&
    s.paymentCount === credit.payment_count &&
    s.lastPaymentDate === credit.last_payment_date &&
    s.status === credit.status;
  // stateOf reads only the persisted-state columns.
  const drift = sameState ? [] : diffState(stateOf(credit as CreditRow), decimalState(schedule.totalAmount, s));

  const expected = lines.length;
  let mismatched = stored.length !== expected;
  let byPayment: Map<string, CentsLine[]> | undefined;
  for (let i = 0; i < stored.length && !mismatched; i++) {
    const r = stored[i];
    let l: CentsLine | undefined = lines[i];
    if (lineIds[i] !== r.paymentId || l.installmentNumber !== r.installmentNumber) {
      // Out of the fold's order: find the row's line by payment and instalment.
      byPayment ??= linesByPayment(lineIds, lines);
      l = byPayment.get(r.paymentId)?.find((x) => x.installmentNumber === r.installmentNumber);
      if (l === undefined) {
        mismatched = true;
        break;
      }
    }
    // Amounts are below 10^14 cents: as numbers they and their differences are exact.
    const amount = Number(l.amount);
    const principal = Number(l.principal);
    mismatched = amount !== r.amount || principal !== r.principal || amount - principal !== r.interest || Number(l.remaining) !== r.remaining;
  }
  if (mismatched) drift.push({ field: 'allocations', persisted: `${stored.length} rows`, recomputed: `${expected} rows` });
  return drift;
}

const amountOf = (p: CentsPayment): bigint => p.amount;

function linesByPayment(lineIds: string[], lines: CentsLine[]): Map<string, CentsLine[]> {
  const out = new Map<string, CentsLine[]>();
  for (let k = 0; k < lines.length; k++) {
    const of = out.get(lineIds[k]);
    if (of) of.push(lines[k]);
    else out.set(lineIds[k], [lines[k]]);
  }
  return out;
}

const ALLOCATION_COLUMNS = 'payment_id, installment_number, amount, principal, interest, remaining_for_installment';

/** Compares one credit with its recomputation from its book (schedule and ledger, loaded by the caller). Read-only. */
export async function checkCredit(m: EntityManager, credit: CreditRow, book: { schedule: LedgerSchedule; ledger: LedgerPayment[] }): Promise<StateDrift[]> {
  const rows: Array<Record<string, string> & { installment_number: number }> = await m.query(`SELECT ${ALLOCATION_COLUMNS} FROM payment_allocations WHERE credit_id = $1`, [credit.id]);
  const cents = (text: string) => centsNumberIn(text, 0, text.length);
  const stored: StoredAllocation[] = rows.map((r) => ({
    paymentId: r.payment_id,
    installmentNumber: r.installment_number,
    amount: cents(r.amount),
    principal: cents(r.principal),
    interest: cents(r.interest),
    remaining: cents(r.remaining_for_installment),
  }));
  const ledger = book.ledger.map((p) => ({ id: p.id, amount: centsOf(p.amount), paymentDate: p.paymentDate }));
  return driftOfCents(credit, centsScheduleOf(book.schedule), ledger, stored);
}
