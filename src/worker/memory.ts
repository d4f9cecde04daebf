/**
 * How a worker process is started, memory-wise: every launcher of a worker (npm run worker, npm run cluster, the
 * benchmarks, the image, compose) starts it with these, so a payment file of 1,000,000 lines stays under 400 MB.
 *
 * Why (bench:batches at 1,000,000 lines, README: Benchmarks): without them the worker's RSS reached 537 MB,
 * though nothing grows with the file: V8 lets garbage reach its default heap limit before a major collection,
 * and glibc keeps one malloc arena per thread that has allocated (the SDK's and libuv's threads) with freed memory
 * held in each. A 192 MB old space makes V8 collect before the garbage piles up; two arenas bound what glibc holds.
 * With them, V8's heap in use stayed at 60–85 MB through that file; an import (20,000 credits) and a full
 * recalculation (200,000 credits) ran to the end under the same limit.
 */

/** The V8 old-space limit of a worker, in MB (WORKER_HEAP_MB overrides it). */
export const WORKER_HEAP_MB_DEFAULT = 192;

/** glibc's malloc arenas (MALLOC_ARENA_MAX), read by the C library when the process starts: an environment variable. */
export const WORKER_MALLOC_ARENAS = '2';

export function workerHeapMb(env: NodeJS.ProcessEnv = process.env): number {
  const mb = Number(env.WORKER_HEAP_MB ?? WORKER_HEAP_MB_DEFAULT);
  if (!Number.isInteger(mb) || mb < 64) throw new Error(`WORKER_HEAP_MB must be an integer ≥ 64, got ${env.WORKER_HEAP_MB}`);
  return mb;
}

/** Node's arguments for a worker process (before the entry file). */
export function workerNodeArgs(env: NodeJS.ProcessEnv = process.env): string[] {
  return [`--max-old-space-size=${workerHeapMb(env)}`];
}

/** The environment a worker process starts with: `env`, with the malloc arenas bounded unless it sets them. */
export function workerEnvironment<E extends NodeJS.ProcessEnv>(env: E): E {
  return { MALLOC_ARENA_MAX: WORKER_MALLOC_ARENAS, ...env };
}
