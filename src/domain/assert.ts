/**
 * A stated invariant. A false one is a programming error in abono, not bad input: it throws before anything
 * is written, so a broken rule cannot reach the ledger (the database's CHECKs are the second line).
 */
export class InvariantError extends Error {
  override name = 'InvariantError';
}

export function assert(condition: boolean, invariant: string): asserts condition {
  if (!condition) throw new InvariantError(`invariant violated: ${invariant}`);
}
