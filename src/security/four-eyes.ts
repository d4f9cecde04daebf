/**
 * Maker-checker on REVIEW batches: the key that started a batch may not decide it. Actors are
 * recorded as `<key id>:<key name>`; the key id is what identifies the person's key (names can
 * repeat). Workflow-safe: no I/O, so the workflow's update validator applies the same rule.
 */
export const SAME_APPROVER = 'SAME_APPROVER';

const keyIdOf = (actor: string): string => actor.split(':', 1)[0];

/** True when both actors are keys and the same key. */
export function isSameKey(startedBy: string | null | undefined, decidedBy: string | null | undefined): boolean {
  if (!startedBy || !decidedBy) return false;
  return keyIdOf(startedBy) === keyIdOf(decidedBy);
}

export const sameApproverDetail = 'the key that started this batch cannot approve or reject it; another admin must decide';
