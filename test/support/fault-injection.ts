import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityMap } from '../../src/worker/worker';

/** The payment saga's steps by the names tests use, and the activities that run them. */
const STEP_ACTIVITIES: Record<string, string> = {
  validate: 'validatePayment',
  persist: 'persistPayment',
  apply: 'applyPayment',
  audit: 'recordPaymentOutcome',
};

/**
 * Wraps a worker's activities so that the named steps fail for good (a non-retryable failure) before they touch
 * anything: the saga then compensates. Test-only: production activities carry no fault flags.
 */
export function failingSteps(steps: readonly string[]): <T extends ActivityMap>(activities: T) => T {
  return <T extends ActivityMap>(activities: T): T => {
    const wrapped: Record<string, unknown> = { ...activities };
    for (const step of steps) {
      const name = STEP_ACTIVITIES[step];
      if (!name) throw new Error(`no such step: ${step}`);
      if (!(name in activities)) continue; // a worker without that activity (the batch worker)
      wrapped[name] = async () => {
        throw ApplicationFailure.nonRetryable(`injected fault in ${step}`, 'InjectedFault');
      };
    }
    return wrapped as T;
  };
}
