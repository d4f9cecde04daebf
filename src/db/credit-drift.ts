import type { EntityManager } from 'typeorm';
// The check's hot path imports each module itself (not through the domain's index and its re-export getters).
import { centsOf, centsTextEquals } from '../domain/money';
import { CentsSchedule, LedgerSchedule, centsScheduleOf } from '../domain/ledger-schedule';
import { CentsLine, CentsPayment, CentsState, foldLedger } from '../domain/waterfall-cents';
import { LedgerPayment, decimalState } from '../domain/waterfall';
import { StateDrift, diffState } from '../domain/drift';
import { CreditRow, stateOf } from './rows';

/** A credit's persisted state and allocations against the domain's recomputation from its ledger. */

export interface StoredAllocation {
  payment_id: string;
  installment_number: number;
  amount: string;
  principal: string;
  interest: string;
  remaining_for_installment: string;
}

/** The persisted state of a credit, as PostgreSQL prints it (what `stateOf` reads of a credits row). */
export type PersistedState = Pick<CreditRow, 'total_paid' | 'balance' | 'paid_installments' | 'payment_count' | 'last_payment_date' | 'status'>;

/**
 * Persisted state and allocations against the recomputation from the ledger, all in cents (pure). Every field
 * and every allocation row is compared by value with the domain's recomputation; the stored text is read
 * straight into cents (centsTextEquals). When something differs, the drift is described exactly as `diffState`
 * and the allocation count do.
 */
export function driftOfCents(credit: PersistedState, schedule: CentsSchedule, ledger: readonly CentsPayment[], stored: StoredAllocation[]): StateDrift[] {
  // Each payment's recomputed lines, one per instalment it touches, in instalment order.
  const lines = new Map<string, CentsLine[]>();
  let expected = 0;
  let s: CentsState;
  try {
    s = foldLedger(schedule, ledger, amountOf, (p, l) => {
      lines.set(p.id, l);
      expected += l.length;
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

  let mismatched = stored.length !== expected;
  for (let i = 0; i < stored.length && !mismatched; i++) {
    const r = stored[i];
    const of = lines.get(r.payment_id);
    let l: CentsLine | undefined;
    for (let j = 0; of && j < of.length && !l; j++) if (of[j].installmentNumber === r.installment_number) l = of[j];
    mismatched =
      l === undefined ||
      !centsTextEquals(l.amount, r.amount) ||
      !centsTextEquals(l.principal, r.principal) ||
      !centsTextEquals(l.amount - l.principal, r.interest) ||
      !centsTextEquals(l.remaining, r.remaining_for_installment);
  }
  if (mismatched) drift.push({ field: 'allocations', persisted: `${stored.length} rows`, recomputed: `${expected} rows` });
  return drift;
}

const amountOf = (p: CentsPayment): bigint => p.amount;

const ALLOCATION_COLUMNS = 'payment_id, installment_number, amount, principal, interest, remaining_for_installment';

/** Compares one credit with its recomputation from its book (schedule and ledger, loaded by the caller). Read-only. */
export async function checkCredit(m: EntityManager, credit: CreditRow, book: { schedule: LedgerSchedule; ledger: LedgerPayment[] }): Promise<StateDrift[]> {
  const stored: StoredAllocation[] = await m.query(`SELECT ${ALLOCATION_COLUMNS} FROM payment_allocations WHERE credit_id = $1`, [credit.id]);
  const ledger = book.ledger.map((p) => ({ id: p.id, amount: centsOf(p.amount), paymentDate: p.paymentDate }));
  return driftOfCents(credit, centsScheduleOf(book.schedule), ledger, stored);
}
