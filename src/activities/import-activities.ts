import { ApplicationFailure } from '@temporalio/common';
import type { DataSource } from 'typeorm';
import { applyImportChunk, ImportChunkTotals } from '../db/import-chunks';
import { markImport, planImportChunks, prepareImport } from '../db/imports';
import type { WorkflowRef } from '../workflows/types';
import { activityLog } from '../observability/activities';
import { heartbeating } from './payment-batch-activities';

/** The import workflow's steps; each is idempotent, so a retried step changes nothing twice. */
export function createImportActivities(deps: { ds: DataSource }) {
  const { ds } = deps;
  return {
    /** Lists the payments whose credit the file lacks; refuses to run an import the API never recorded. */
    async prepareImport(importId: string): Promise<{ credits: number; payments: number; orphans: number }> {
      const prepared = await prepareImport(ds, importId);
      if (!prepared) throw ApplicationFailure.nonRetryable(`import ${importId} was never recorded`, 'UNRECORDED_REQUEST');
      return prepared;
    },

    async planImportChunks(args: { importId: string; after: string; credits: number; count: number }): Promise<string[]> {
      return planImportChunks(ds, args.importId, args.after, args.credits, args.count);
    },

    /** One chunk in one transaction, heartbeating so a killed worker's chunk is retried elsewhere promptly. */
    async applyImportChunk(args: { importId: string; lo: string; hi: string; actor: string | null; wf: WorkflowRef }): Promise<ImportChunkTotals> {
      return heartbeating({ lo: args.lo }, () => applyImportChunk(ds, args));
    },

    async finishImport(args: { importId: string; status: 'COMPLETED' | 'CANCELLED' | 'FAILED' }): Promise<void> {
      await markImport(ds, args.importId, args.status);
      activityLog().info({ importId: args.importId, status: args.status }, `import ${args.status.toLowerCase()}`);
    },
  };
}

export type ImportActivities = ReturnType<typeof createImportActivities>;
