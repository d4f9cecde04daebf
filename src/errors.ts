/**
 * Errors the API maps to problem+json, each with a code from a closed list (the domain's DomainError covers the
 * business refusals, with its own DomainErrorCode).
 */
export type NotFoundCode = 'CREDIT_NOT_FOUND' | 'PAYMENT_NOT_FOUND' | 'RECALCULATION_NOT_FOUND' | 'PAYMENT_BATCH_NOT_FOUND' | 'IMPORT_NOT_FOUND';
export type ConflictCode = 'IDEMPOTENCY_KEY_REUSED' | 'PAYMENT_ALREADY_REVERSED' | 'PAYMENT_NOT_APPLIED' | 'RECALCULATION_NOT_AWAITING_APPROVAL' | 'CREDIT_EXTERNAL_ID_TAKEN' | 'BATCH_NOT_APPLIED' | 'BATCH_NOT_RUNNING';
export type UnavailableCode = 'TEMPORAL_UNAVAILABLE';

export class NotFoundError extends Error {
  override name = 'NotFoundError';
  constructor(readonly code: NotFoundCode, message: string) {
    super(message);
  }
}

export class ConflictError extends Error {
  override name = 'ConflictError';
  constructor(readonly code: ConflictCode, message: string, readonly field?: string) {
    super(message);
  }
}

export class UnavailableError extends Error {
  override name = 'UnavailableError';
  constructor(readonly code: UnavailableCode, message: string) {
    super(message);
  }
}
