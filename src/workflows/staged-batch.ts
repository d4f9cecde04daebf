import { CancellationScope, isCancellation, patched, QueryDefinition, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { OperationKind, OperationStatus } from '../temporal/search-attributes';
import { historyIsLong, runChunkWindow } from './chunk-window';

/** The progress every staged batch keeps: its status and the keyset position its chunks have finished up to. */
export interface StagedBatchProgress {
  status: 'RUNNING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';
  position: string;
}

/** What a payment file (or its reversal) or an import gives runStagedBatch. */
export interface StagedBatch<P extends StagedBatchProgress> {
  /** The Temporal UI's OperationKind. */
  kind: string;
  progress: P;
  query: QueryDefinition<P>;
  /** A run continued as new: its input was prepared by the first run. */
  carried: boolean;
  /** The patch under which the chunks run in the window; batches started before it finish in rounds. */
  windowPatch: string;
  /** Chunks in flight at most. */
  parallelism: number;
  /** Counts what the API staged (the first run only). */
  prepare(): Promise<void>;
  /** Upper bounds of the next chunks after `after`, at most `count`. */
  plan(after: string, count: number): Promise<string[]>;
  /** Runs the chunk (lo, hi] and adds what it did to the progress. */
  run(lo: string, hi: string): Promise<void>;
  /** The position moved: refresh the rate. */
  advanced(): void;
  /** Continues as new, carrying the progress. */
  continueAsNew(): Promise<never>;
  /** Records the batch's end. */
  finish(status: 'COMPLETED' | 'CANCELLED'): Promise<void>;
}

/**
 * A batch whose input the API staged (a payment file's lines, an import's two files): prepare, then the chunks in id
 * order, a few at a time, then finish. Cancelling stops after the chunks in flight: what they did stays done, and
 * nothing the batch does is cut short by it. Continues as new before the history grows large.
 */
export async function runStagedBatch<P extends StagedBatchProgress>(b: StagedBatch<P>): Promise<P> {
  const p = b.progress;
  setHandler(b.query, () => p);
  upsertSearchAttributes([
    { key: OperationKind, value: b.kind },
    { key: OperationStatus, value: p.status },
  ]);
  let cancelled = false;
  CancellationScope.current().cancelRequested.catch((err) => {
    if (isCancellation(err)) cancelled = true;
  });
  await CancellationScope.nonCancellable(async () => {
    if (!b.carried) await b.prepare();
    if (patched(b.windowPatch)) {
      for (;;) {
        const { more } = await runChunkWindow(p.position, {
          parallelism: b.parallelism,
          plan: b.plan,
          run: b.run,
          holding: () => cancelled || historyIsLong(),
          advanced: (position) => {
            p.position = position;
            b.advanced();
          },
        });
        if (!more || cancelled) break;
        await b.continueAsNew();
      }
    } else await runInRounds(b, () => cancelled);
    const status = cancelled ? 'CANCELLED' : 'COMPLETED';
    p.status = status;
    await b.finish(status);
  });
  upsertSearchAttributes([{ key: OperationStatus, value: p.status }]);
  return p;
}

/** Batches started before the chunk window: a round's chunks, then the next plan once its slowest has ended. */
async function runInRounds<P extends StagedBatchProgress>(b: StagedBatch<P>, cancelled: () => boolean): Promise<void> {
  const p = b.progress;
  while (!cancelled()) {
    const bounds = await b.plan(p.position, b.parallelism);
    if (bounds.length === 0) break;
    await Promise.all(bounds.map((hi, i) => b.run(i === 0 ? p.position : bounds[i - 1], hi)));
    p.position = bounds[bounds.length - 1];
    b.advanced();
    if (historyIsLong()) await b.continueAsNew();
  }
}
