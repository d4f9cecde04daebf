import type { EntityManager } from 'typeorm';
import { AllocationLine, LedgerPayment, LedgerSchedule, StateDrift, diffState, moneyTextEquals, recompute } from '../domain';
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
 * Persisted state and allocations against the recomputation from the ledger (pure). Every field and every
 * allocation row is compared by value with the domain's recomputation; the stored text is compared without
 * parsing it (moneyTextEquals). When something differs, the drift is described exactly as `diffState` and the
 * allocation count do.
 */
export function driftOf(credit: PersistedState, schedule: LedgerSchedule, ledger: LedgerPayment[], stored: StoredAllocation[]): StateDrift[] {
  let recomputed;
  try {
    recomputed = recompute(schedule, ledger);
  } catch (err) {
    // A ledger the domain refuses (e.g. more paid than owed) is drift too.
    return [{ field: 'ledger', persisted: `${ledger.length} payments`, recomputed: (err as Error).message }];
  }
  const s = recomputed.state;
  const sameState =
    moneyTextEquals(s.totalPaid, credit.total_paid) &&
    moneyTextEquals(s.balance, credit.balance) &&
    s.paidInstallments === credit.paid_installments &&
    s.paymentCount === credit.payment_count &&
    s.lastPaymentDate === credit.last_payment_date &&
    s.status === credit.status;
  // stateOf reads only the persisted-state columns.
  const drift = sameState ? [] : diffState(stateOf(credit as CreditRow), s);

  // Each payment's recomputed lines, one per instalment it touches, in instalment order.
  const lines = new Map<string, AllocationLine[]>();
  let expected = 0;
  for (const { paymentId, allocation } of recomputed.allocations) {
    lines.set(paymentId, allocation.lines);
    expected += allocation.lines.length;
  }
  let mismatched = stored.length !== expected;
  for (let i = 0; i < stored.length && !mismatched; i++) {
    const r = stored[i];
    const of = lines.get(r.payment_id);
    let l: AllocationLine | undefined;
    for (let j = 0; of && j < of.length && !l; j++) if (of[j].installmentNumber === r.installment_number) l = of[j];
    mismatched =
      l === undefined ||
      !moneyTextEquals(l.amount, r.amount) ||
      !moneyTextEquals(l.principal, r.principal) ||
      !moneyTextEquals(l.interest, r.interest) ||
      !moneyTextEquals(l.remainingForInstallment, r.remaining_for_installment);
  }
  if (mismatched) drift.push({ field: 'allocations', persisted: `${stored.length} rows`, recomputed: `${expected} rows` });
  return drift;
}

const ALLOCATION_COLUMNS = 'payment_id, installment_number, amount, principal, interest, remaining_for_installment';

/** Compares one credit with its recomputation from its book (schedule and ledger, loaded by the caller). Read-only. */
export async function checkCredit(m: EntityManager, credit: CreditRow, book: { schedule: LedgerSchedule; ledger: LedgerPayment[] }): Promise<StateDrift[]> {
  const stored: StoredAllocation[] = await m.query(`SELECT ${ALLOCATION_COLUMNS} FROM payment_allocations WHERE credit_id = $1`, [credit.id]);
  return driftOf(credit, book.schedule, book.ledger, stored);
}
