import { formatMoney } from './money';
import type { CreditState } from './waterfall';

/** One field where a credit's persisted state differs from its recomputation from the ledger. */
export interface StateDrift {
  field: string;
  persisted: string;
  recomputed: string;
}

/** Differences between persisted and recomputed state (money compared by value); [] = consistent. */
export function diffState(persisted: CreditState, recomputed: CreditState): StateDrift[] {
  const out: StateDrift[] = [];
  const cmp = (field: string, a: string, b: string): void => {
    if (a !== b) out.push({ field, persisted: a, recomputed: b });
  };
  cmp('totalPaid', formatMoney(persisted.totalPaid), formatMoney(recomputed.totalPaid));
  cmp('balance', formatMoney(persisted.balance), formatMoney(recomputed.balance));
  cmp('paidInstallments', String(persisted.paidInstallments), String(recomputed.paidInstallments));
  cmp('paymentCount', String(persisted.paymentCount), String(recomputed.paymentCount));
  cmp('lastPaymentDate', String(persisted.lastPaymentDate), String(recomputed.lastPaymentDate));
  cmp('status', persisted.status, recomputed.status);
  return out;
}
