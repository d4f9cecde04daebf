/**
 * Every activity runs inside `instrumentActivities`: a child logger bound to the ids the step concerns (paymentId,
 * creditId from its first argument; workflowId, runId, activity, attempt from the activity context), available to
 * the step through `activityLog()`, and the retry/failure counters.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Context } from '@temporalio/activity';
import pino from 'pino';
import type { Logger } from '../logger';
import { activityFailures, activityRetries } from './metrics';

// The child logger is made when a step first logs: most steps of a payment log nothing, and binding a child costs.
const storage = new AsyncLocalStorage<() => Logger>();
const silent: Logger = pino({ level: 'silent' });

/** The current activity's logger (bound to its payment, credit and workflow ids); silent outside an activity. */
export function activityLog(): Logger {
  return storage.getStore()?.() ?? silent;
}

/** paymentId / creditId from an activity's first argument (PaymentRequest, ReversalRequest, …), when it has them. */
function idsOf(arg: unknown): Record<string, string> {
  const ids: Record<string, string> = {};
  if (arg && typeof arg === 'object') {
    const a = arg as Record<string, unknown>;
    if (typeof a.paymentId === 'string') ids.paymentId = a.paymentId;
    if (typeof a.creditId === 'string') ids.creditId = a.creditId;
    if (typeof a.runId === 'string' && a.runId.startsWith('recalculation-')) ids.recalculationId = a.runId;
  }
  return ids;
}

/** Wraps each activity: logging context, attempts > 1 counted as retries, thrown attempts counted as failures. */
export function instrumentActivities<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T, log?: Logger): T {
  const base = log ?? silent;
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      const info = Context.current().info;
      const kind = info.isLocal ? 'local' : 'remote';
      if (info.attempt > 1) activityRetries.inc({ activity: name, kind });
      let child: Logger | undefined;
      const log = () =>
        (child ??= base.child({
          ...idsOf(args[0]),
          workflowId: info.workflowExecution?.workflowId,
          runId: info.workflowExecution?.runId,
          activity: name,
          attempt: info.attempt,
        }));
      return storage.run(log, async () => {
        try {
          return await fn(...args);
        } catch (err) {
          activityFailures.inc({ activity: name, kind });
          log().warn({ err }, `activity ${name} failed (attempt ${info.attempt}); Temporal retries it unless the failure is final`);
          throw err;
        }
      });
    };
  }
  return wrapped as T;
}
