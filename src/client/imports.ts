import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Client } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import { importWorkflow } from '../workflows';
import { ImportInput, importWorkflowId } from '../workflows/types';
import { findImport, ImportMode, ImportRow, LegacyFile, recordImport } from '../db/imports';
import type { LegacyMapping } from '../imports/mapping';
import { startStagedBatch, TemporalUi } from './temporal';

export interface ImportDeps extends TemporalUi {
  ds: DataSource;
  client: Client;
  /** The batch task queue: an import never holds up a single payment. */
  taskQueue: string;
  chunkCredits: number;
  parallelism: number;
}

/** Starts (or finds started) the import's workflow. */
export async function startImport(deps: ImportDeps, imp: ImportRow): Promise<void> {
  const input: ImportInput = { importId: imp.id, mode: imp.mode, chunkCredits: deps.chunkCredits, parallelism: deps.parallelism, actor: imp.actor };
  await startStagedBatch(deps.client, {
    workflow: importWorkflow,
    workflowId: imp.workflow_id,
    taskQueue: deps.taskQueue,
    input,
    kind: 'import',
    unavailableDetail: 'the workflow service is unreachable; the import is recorded and starts when it is sent again',
  });
}

/**
 * Records an import (both files' rows, or nothing when a file cannot be read) and starts its workflow. Every import
 * is its own: importing the same files again makes a second import, which finds every credit already imported.
 */
export async function submitImport(
  deps: ImportDeps,
  f: { mode: ImportMode; mapping: LegacyMapping; parts: AsyncIterable<{ name: LegacyFile; body: Readable }>; actor: string | null },
): Promise<ImportRow> {
  const id = randomUUID();
  await recordImport(deps.ds, { id, mode: f.mode, mapping: f.mapping, workflowId: importWorkflowId(id), actor: f.actor }, f.parts);
  const imp = (await findImport(deps.ds, id))!;
  await startImport(deps, imp);
  return imp;
}
