/**
 * The names of states, each defined once: credit and payment statuses (and which payment status may follow
 * which), recalculation modes, arrears buckets. Workflow-safe (no I/O), so workflows, activities, the API and
 * the SQL that restates a rule all read them from here.
 */

export const CREDIT_STATUSES = ['ACTIVE', 'PAID_OFF'] as const;
export type CreditStatus = (typeof CREDIT_STATUSES)[number];

/** In the order the collections report's filter lists them. */
export const PAYMENT_STATUSES = ['APPLIED', 'REVERSED', 'PENDING', 'REJECTED', 'FAILED'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/**
 * The allowed transitions of a payment row. A payment is born PENDING (persisted) or REJECTED (refused before
 * persist); APPLIED is in the ledger; FAILED is compensated; REVERSED left the ledger by an operator's reversal.
 */
export const PAYMENT_TRANSITIONS: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  PENDING: ['APPLIED', 'REJECTED', 'FAILED'],
  APPLIED: ['REVERSED', 'FAILED'],
  REJECTED: [],
  FAILED: [],
  REVERSED: [],
};

/** A payment in one of these has its outcome: the API answers it as final. */
export const TERMINAL_PAYMENT_STATUSES: ReadonlySet<string> = new Set<PaymentStatus>(['APPLIED', 'REJECTED', 'FAILED', 'REVERSED']);

export function canTransition(from: PaymentStatus, to: PaymentStatus): boolean {
  return PAYMENT_TRANSITIONS[from].includes(to);
}

export type ReversalRefusalCode = 'PAYMENT_NOT_FOUND' | 'PAYMENT_ALREADY_REVERSED' | 'PAYMENT_NOT_APPLIED';

/** The reversal's precondition: only an APPLIED payment can be reversed. Undefined: it may be. */
export function reversalRefusal(paymentId: string, status: string | undefined): { code: ReversalRefusalCode; detail: string } | undefined {
  if (status === undefined) return { code: 'PAYMENT_NOT_FOUND', detail: `payment ${paymentId} does not exist` };
  if (status === 'REVERSED') return { code: 'PAYMENT_ALREADY_REVERSED', detail: 'the payment was already reversed' };
  if (status !== 'APPLIED') return { code: 'PAYMENT_NOT_APPLIED', detail: `only an APPLIED payment can be reversed; this one is ${status}` };
  return undefined;
}

/** DRY_RUN records drift; CORRECT corrects it as found; REVIEW records it and corrects once an admin approves. */
export const RECALCULATION_MODES = ['DRY_RUN', 'CORRECT', 'REVIEW'] as const;
export type RecalculationMode = (typeof RECALCULATION_MODES)[number];
/**
 * A recalculation batch's statuses: RUNNING (scanning), AWAITING_APPROVAL (REVIEW mode's findings wait for an
 * admin), APPLYING (approved corrections), then COMPLETED, or REJECTED (an admin said no, or no one recorded its start).
 */
export const RECALCULATION_STATUSES = ['RUNNING', 'AWAITING_APPROVAL', 'APPLYING', 'COMPLETED', 'REJECTED'] as const;
export type RecalculationStatus = (typeof RECALCULATION_STATUSES)[number];
/** Not finished: its workflow still runs and answers with live progress. */
export const OPEN_RECALCULATION_STATUSES: ReadonlySet<string> = new Set<RecalculationStatus>(['RUNNING', 'AWAITING_APPROVAL', 'APPLYING']);
/** Working on its own: someone following it waits (AWAITING_APPROVAL waits for a person instead). */
export const WORKING_RECALCULATION_STATUSES: ReadonlySet<string> = new Set<RecalculationStatus>(['RUNNING', 'APPLYING']);

/** FULL checks every credit; INCREMENTAL the credits changed since their last verification and the rolling slice. */
export const RECALCULATION_SCOPES = ['FULL', 'INCREMENTAL'] as const;
export type RecalculationScope = (typeof RECALCULATION_SCOPES)[number];

/** Overdue instalments from which a credit is in the last bucket. */
export const ARREARS_LAST_BUCKET_FROM = 4;
export const ARREARS_BUCKETS = ['current', '1', '2', '3', `${ARREARS_LAST_BUCKET_FROM}+`] as const;
export type ArrearsBucket = (typeof ARREARS_BUCKETS)[number];

export function arrearsBucketOf(overdueInstallments: number): ArrearsBucket {
  if (overdueInstallments <= 0) return 'current';
  if (overdueInstallments >= ARREARS_LAST_BUCKET_FROM) return ARREARS_BUCKETS[ARREARS_BUCKETS.length - 1];
  return String(overdueInstallments) as ArrearsBucket;
}
