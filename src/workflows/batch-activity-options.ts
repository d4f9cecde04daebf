import type { ActivityOptions } from '@temporalio/workflow';

/** Batch workflows' database steps: bounded, about 15 minutes of a database that does not answer, then the batch fails (and says so). */
export const BATCH_STEP_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 35 },
};

/** Batch workflows' chunks: heartbeating; a chunk that fails ten times (a worker killed mid-chunk is one) fails the batch. */
export const BATCH_CHUNK_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
};
