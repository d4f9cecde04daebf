// A small in-memory stand-in for the credits table, answering the recalculation
// workflow's activities the way the database does: keyset chunks in id order, counts per
// chunk, findings applied after approval.
import { ApplicationFailure } from '@temporalio/common';
import type { RecalculationMode } from '../../src/workflows/types';
import { deferred, recorded } from './sandbox';

export const FIRST_ID = '00000000-0000-0000-0000-000000000000';
/** The n-th credit id; zero-padded, so id order is number order. */
export const creditId = (n: number) => `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`;

export interface BookOptions {
  credits: number;
  /** Credit numbers whose stored figures drifted from their ledgers. */
  drifted: number[];
  /** Credit numbers whose check fails (an error, counted, not fatal). */
  broken?: number[];
  /** The alert webhook's answer: delivered, or down for good. */
  alert?: 'delivered' | 'down';
}

export interface ChunkCall {
  lo: string;
  hi: string;
  mode: RecalculationMode;
}

export function creditBook(opts: BookOptions) {
  const ids = Array.from({ length: opts.credits }, (_, i) => creditId(i + 1));
  const drifted = new Set(opts.drifted.map(creditId));
  const broken = new Set((opts.broken ?? []).map(creditId));
  /** Chunks from this id on wait for the test (to look at the batch mid-way). */
  let held: { from: string; started: () => void; release: Promise<void> } | undefined;

  const steps = recorded({
    beginRecalculation: async () => undefined,
    planRecalculationChunks: async (a: { after: string; chunkSize: number; count: number }) => {
      const rest = ids.filter((id) => id > a.after).slice(0, a.chunkSize * a.count);
      return rest.filter((_, i) => (i + 1) % a.chunkSize === 0 || i === rest.length - 1);
    },
    recalculateChunk: async (a: ChunkCall) => {
      if (held && a.lo >= held.from) {
        held.started();
        await held.release;
      }
      const inChunk = ids.filter((id) => id > a.lo && id <= a.hi);
      const found = inChunk.filter((id) => drifted.has(id)).length;
      return { scanned: inChunk.length, inconsistent: found, corrected: a.mode === 'CORRECT' ? found : 0, errors: inChunk.filter((id) => broken.has(id)).length };
    },
    updateRecalculationStatus: async () => undefined,
    recordRecalculationDecision: async () => undefined,
    applyApprovedCorrections: async (a: { after: string; limit: number }) => {
      const batch = [...drifted].sort().filter((id) => id > a.after).slice(0, a.limit);
      return { corrected: batch.length, errors: 0, last: batch.at(-1) ?? a.after, done: batch.length < a.limit };
    },
    finishRecalculation: async () => undefined,
    sendRecalculationAlert: async () => {
      if (opts.alert === 'down') throw ApplicationFailure.nonRetryable('alert webhook answered 503', 'WebhookDown');
      return true;
    },
  });

  return {
    ...steps,
    /** The chunk ranges the workflow asked for, in id order (a round's chunks run at once). */
    chunkRanges: () =>
      steps.calls
        .filter((c) => c.name === 'recalculateChunk')
        .map((c) => [(c.args[0] as ChunkCall).lo, (c.args[0] as ChunkCall).hi])
        .sort(([a], [b]) => a.localeCompare(b)),
    argsOf: (name: string) => steps.calls.filter((c) => c.name === name).map((c) => c.args[0] as Record<string, unknown>),
    /** Holds the chunks that start after credit n (0: all) until released. */
    holdAfter(n: number) {
      const started = deferred();
      const release = deferred();
      held = { from: creditId(n), started: started.resolve, release: release.promise };
      return {
        started: started.promise,
        release() {
          held = undefined;
          release.resolve();
        },
      };
    },
  };
}
