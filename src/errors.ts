/** Errors the API maps to problem+json; the domain's DomainError covers business refusals. */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export class ConflictError extends Error {
  override name = 'ConflictError';
  constructor(readonly code: string, message: string, readonly field?: string) {
    super(message);
  }
}

export class UnavailableError extends Error {
  override name = 'UnavailableError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}
