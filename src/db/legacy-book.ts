import { AbonoComputation, Decimal, DomainError, initialState, legacyPaymentOrder, LegacyPaymentFigures, Schedule } from '../domain';
import { appendRunFrom, RunResult } from './ledger';

/**
 * What abono makes of one legacy credit's payments: applied in (payment date, legacy id) order through the same
 * run the payment files use (the domain's applyPayment, the ledger's invariants asserted), from the new credit's
 * initial state. A payment the domain refuses (over the balance, after the credit is paid off, before its start)
 * is not applied and leaves the state as it was for the next one.
 */
export interface LegacyRun<P extends LegacyPaymentFigures> {
  /** The payments in the order they were applied. */
  ordered: P[];
  results: RunResult[];
  computation: AbonoComputation;
  lastSeq: number;
}

export function runLegacyPayments<P extends LegacyPaymentFigures>(schedule: Schedule, payments: P[], paymentIdOf: (p: P) => string): LegacyRun<P> {
  const ordered = [...payments].sort(legacyPaymentOrder);
  const run = appendRunFrom(
    schedule,
    { state: initialState(schedule), lastSeq: 0 },
    ordered.map((p) => ({ id: paymentIdOf(p), amount: new Decimal(p.amount), paymentDate: p.paymentDate })),
    () => undefined,
  );
  const outcomes = run.results.map((r) => {
    if (r.ok) return { applied: true as const, allocation: r.allocation };
    if (!(r.error instanceof DomainError)) throw r.error;
    return { applied: false as const, code: r.error.code, detail: r.error.message };
  });
  return { ordered, results: run.results, lastSeq: run.lastSeq, computation: { schedule, state: run.state, payments: outcomes } };
}
