import type { Readable } from 'node:stream';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import { paymentBatchWorkflow } from '../workflows';
import { PaymentBatchInput, PaymentBatchMode, paymentBatchWorkflowId } from '../workflows/types';
import { BatchRow, findBatch, findBatchByKey, hashStream, recordBatchFile, recordReversalBatch } from '../db/payment-batches';
import type { PaymentFileFormat } from '../files/payment-file';
import { ConflictError, NotFoundError } from '../errors';
import { keyedUuid } from '../db/idempotency-keys';
import { rethrowUnavailable, startStagedBatch, TemporalUi } from './temporal';

export interface PaymentBatchDeps extends TemporalUi {
  ds: DataSource;
  client: Client;
  /** The batch task queue: a file's chunks never hold up a single payment. */
  taskQueue: string;
  maxLines: number;
  maxBytes: number;
  chunkLines: number;
  parallelism: number;
}

/** One file key, one batch: its id is derived from the key. */
export function batchIdForKey(key: string): string {
  return keyedUuid('payment-batch', key);
}

/** Starts (or finds started) the batch's workflow; a batch whose workflow finished is left as it is. */
export async function startBatch(deps: PaymentBatchDeps, batch: BatchRow): Promise<void> {
  const input: PaymentBatchInput = {
    batchId: batch.id,
    mode: batch.mode,
    chunkLines: deps.chunkLines,
    parallelism: deps.parallelism,
    actor: batch.actor,
    reverses: batch.reverses ? { batchId: batch.reverses, reason: batch.reason ?? '' } : undefined,
  };
  await startStagedBatch(deps.client, {
    workflow: paymentBatchWorkflow,
    workflowId: batch.workflow_id,
    taskQueue: deps.taskQueue,
    input,
    kind: batch.reverses ? 'payment-batch-reversal' : 'payment-batch',
    unavailableDetail: 'the workflow service is unreachable; resend the file with the same Idempotency-Key',
  });
}

/**
 * Records a file (all its lines, or nothing when one is malformed) and starts its batch. The same key again:
 * the same file answers the batch it made (restarting it if its start was lost), another file is a 409.
 */
export async function submitPaymentFile(
  deps: PaymentBatchDeps,
  f: { key: string; format: PaymentFileFormat; mode: PaymentBatchMode; body: Readable; actor: string | null },
): Promise<{ batch: BatchRow; replayed: boolean }> {
  const existing = await findBatchByKey(deps.ds, f.key);
  if (existing) {
    if ((await hashStream(f.body)) !== existing.file_hash || existing.mode !== f.mode) {
      throw new ConflictError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different file', 'Idempotency-Key');
    }
    if (existing.status === 'RECEIVED') await startBatch(deps, existing);
    return { batch: existing, replayed: true };
  }
  const id = batchIdForKey(f.key);
  await recordBatchFile(deps.ds, { id, key: f.key, format: f.format, mode: f.mode, workflowId: paymentBatchWorkflowId(id), actor: f.actor, maxLines: deps.maxLines }, f.body);
  const batch = (await findBatch(deps.ds, id))!;
  await startBatch(deps, batch);
  return { batch, replayed: false };
}

/** Reverses every payment a file applied, as a batch of its own (one per file: asking again answers it). */
export async function reverseBatch(deps: PaymentBatchDeps, fileId: string, reason: string, actor: string | null): Promise<BatchRow> {
  const file = await findBatch(deps.ds, fileId);
  if (!file) throw new NotFoundError('PAYMENT_BATCH_NOT_FOUND', `payment batch ${fileId} does not exist`);
  if (file.reverses || file.mode !== 'APPLY' || !['COMPLETED', 'CANCELLED'].includes(file.status)) {
    throw new ConflictError('BATCH_NOT_APPLIED', `only a finished file applied in APPLY mode can be reversed; this one is ${file.format} ${file.mode} ${file.status}`);
  }
  const id = batchIdForKey(`reversal:${fileId}`);
  await recordReversalBatch(deps.ds, { id, fileId, reason, workflowId: paymentBatchWorkflowId(id), actor });
  const reversal = (await findBatch(deps.ds, id))!;
  if (reversal.status === 'RECEIVED') await startBatch(deps, reversal);
  return reversal;
}

/**
 * Asks a running batch to stop: the chunks in flight finish (each is one transaction), no further chunk starts,
 * and what was applied stays applied (its lines listed as APPLIED; the rest stay PENDING). A batch already finished
 * is a 409; asking twice is harmless.
 */
export async function cancelBatch(deps: PaymentBatchDeps, id: string): Promise<BatchRow> {
  const batch = await findBatch(deps.ds, id);
  if (!batch) throw new NotFoundError('PAYMENT_BATCH_NOT_FOUND', `payment batch ${id} does not exist`);
  if (!['RECEIVED', 'RUNNING'].includes(batch.status)) throw new ConflictError('BATCH_NOT_RUNNING', `payment batch ${id} is ${batch.status}; only a running batch can be cancelled`);
  try {
    await deps.client.workflow.getHandle(batch.workflow_id).cancel();
  } catch (err) {
    // The workflow finished between the read and the request (the batch's row says how), or never started.
    if (err instanceof WorkflowNotFoundError) throw new ConflictError('BATCH_NOT_RUNNING', `payment batch ${id} has no running workflow`);
    rethrowUnavailable(err, 'the workflow service is unreachable; ask again');
  }
  return batch;
}
