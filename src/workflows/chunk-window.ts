import { condition, workflowInfo } from '@temporalio/workflow';

/** A batch continues as new before its history grows large: when Temporal suggests it, or at 2,000 events. */
export const historyIsLong = (): boolean => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 2000;

/** A batch's rate for its progress: items handled per second since it started (0 in its first instant). */
export function perSecond(count: number, startedAtMs: number): number {
  const seconds = (Date.now() - startedAtMs) / 1000;
  return seconds > 0 ? Math.round(count / seconds) : 0;
}

/** What a batch gives the window: how to plan its next chunks and run one. */
export interface ChunkWindow {
  /** Chunks in flight at most. */
  parallelism: number;
  /** Upper bounds of the next chunks after `after` (at most `count`; none once the batch is done). */
  plan(after: string, count: number): Promise<string[]>;
  /** Runs the chunk (lo, hi] and adds what it did to the batch's progress. */
  run(lo: string, hi: string): Promise<void>;
  /** True while no chunk may start: the batch is cancelled, or must continue as new first. */
  holding(): boolean;
  /** The batch's position moved: every chunk up to it has finished. */
  advanced(position: string): void;
}

/**
 * Runs a batch's chunks in id order from `position`, keeping `parallelism` in flight: a chunk starts as soon as one
 * ends, not when a round's slowest does. The position moves only over chunks finished in a row from the start, so a
 * batch continued as new (or retried) resumes after them and never skips one. Returns once nothing is in flight and
 * the batch is done (`more` false) or holding; a chunk that failed for good fails the batch.
 */
export async function runChunkWindow(position: string, w: ChunkWindow): Promise<{ position: string; more: boolean }> {
  const window: Array<{ hi: string; done: boolean }> = [];
  let planned: string[] = [];
  let next = position;
  let more = true;
  let inFlight = 0;
  let finished = 0;
  let failure: unknown;
  for (;;) {
    const holding = w.holding();
    while (more && !holding && failure === undefined && inFlight < w.parallelism) {
      if (planned.length === 0) {
        planned = await w.plan(next, w.parallelism);
        if (planned.length === 0) {
          more = false;
          break;
        }
      }
      const slot = { hi: planned.shift()!, done: false };
      const lo = next;
      next = slot.hi;
      window.push(slot);
      inFlight += 1;
      w.run(lo, slot.hi).then(
        () => {
          slot.done = true;
          inFlight -= 1;
          finished += 1;
        },
        (err) => {
          failure ??= err;
          inFlight -= 1;
        },
      );
    }
    if (failure !== undefined) throw failure;
    while (window[0]?.done) position = window.shift()!.hi;
    w.advanced(position);
    if (inFlight === 0 && (!more || holding)) return { position, more };
    const seen = finished;
    await condition(() => finished > seen || failure !== undefined);
  }
}
