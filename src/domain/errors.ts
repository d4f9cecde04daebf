/**
 * Errors raised by the pure domain. Every refusal carries a stable `code` (the API maps it to a 4xx
 * body), optionally the input `field` at fault and string-only `meta` (e.g. the balance that an
 * over-payment exceeded, formatted as "0.00").
 */
export type DomainErrorCode =
  | 'AMOUNT_INVALID'
  | 'AMOUNT_EXCEEDS_BALANCE'
  | 'CREDIT_NOT_ACTIVE'
  | 'PAYMENT_DATE_INVALID'
  | 'TERMS_INVALID'
  | 'SCHEDULE_INVALID'
  | 'DATE_INVALID';

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly field?: string,
    readonly meta?: Record<string, string>,
  ) {
    super(message);
    this.name = 'DomainError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export function isDomainError(e: unknown, code?: string): e is DomainError {
  return e instanceof DomainError && (code === undefined || e.code === code);
}
