// A long batch continues as new before its history grows large, carrying its position and
// totals. On a dev server of its own that suggests continue-as-new after a few dozen
// events, so a batch of a few dozen credits is long enough.
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { recalculationApproval, recalculationProgress, recalculationWorkflow } from '../../src/workflows';
import { findTemporalCli } from '../../src/temporal/cli-binary';
import { searchAttributeKeys } from '../../src/temporal/search-attributes';
import type { RecalculationInput } from '../../src/workflows/types';
import { creditBook, creditId, FIRST_ID } from './recalculation-book';
import { eventually, openSandbox, quietRuntime, Sandbox } from './sandbox';

const SUGGEST_AFTER_EVENTS = 40;

let env: TestWorkflowEnvironment;
let sandbox: Sandbox;
beforeAll(async () => {
  quietRuntime();
  const cli = findTemporalCli(process.env.TEMPORAL_CLI_PATH || undefined);
  env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: cli ? { type: 'existing-path', path: cli } : { type: 'cached-download' },
      ip: '127.0.0.1',
      namespace: 'default',
      searchAttributes: searchAttributeKeys,
      log: { format: 'pretty', level: 'warn' },
      extraArgs: ['--dynamic-config-value', `limit.historyCount.suggestContinueAsNew=${SUGGEST_AFTER_EVENTS}`],
    },
  });
  sandbox = await openSandbox(env);
});
afterAll(async () => {
  await sandbox?.stop();
  await env?.teardown();
});

/** The run that holds the workflow id now. */
const latestRun = async (workflowId: string) => (await env.client.workflow.getHandle(workflowId).describe()).runId;

/** Starts a one-credit-per-chunk batch on `book`'s worker; `during` acts on it, then its result. */
async function runBatch(book: ReturnType<typeof creditBook>, input: Pick<RecalculationInput, 'mode' | 'parallelism' | 'startedBy'>, during?: (h: WorkflowHandle<typeof recalculationWorkflow>) => Promise<void>) {
  const workflowId = `recalculation-${randomUUID()}`;
  return sandbox.withWorker(book.activities, async (taskQueue) => {
    const handle = await env.client.workflow.start(recalculationWorkflow, { workflowId, taskQueue, args: [{ ...input, chunkSize: 1 }] });
    await during?.(handle);
    return { workflowId, firstRun: handle.firstExecutionRunId, result: await handle.result() };
  });
}

const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => creditId(from + i));

describe('recalculation workflow: continue-as-new', () => {
  it('scans on across runs, each chunk once, and totals what every run counted', async () => {
    const book = creditBook({ credits: 24, drifted: [3, 11, 20], alert: 'delivered' });
    const { workflowId, firstRun, result } = await runBatch(book, { mode: 'DRY_RUN', parallelism: 1, startedBy: 'schedule' });
    expect(result).toMatchObject({ runId: workflowId, status: 'COMPLETED', scanned: 24, inconsistent: 3, position: creditId(24) });
    expect(book.chunkRanges()).toEqual(ids(1, 24).map((hi, i) => [i === 0 ? FIRST_ID : creditId(i), hi]));
    expect(book.names().filter((n) => n === 'beginRecalculation')).toHaveLength(1);
    expect(book.names().filter((n) => n === 'finishRecalculation')).toHaveLength(1);
    expect(await latestRun(workflowId)).not.toBe(firstRun);
  });

  it('keeps several chunks in flight, and continues as new only once they have finished: each chunk once, every count once', async () => {
    const book = creditBook({ credits: 24, drifted: [3, 11, 20] });
    const { workflowId, firstRun, result } = await runBatch(book, { mode: 'DRY_RUN', parallelism: 3, startedBy: 'schedule' });
    expect(result).toMatchObject({ status: 'COMPLETED', scanned: 24, inconsistent: 3, position: creditId(24) });
    expect(book.chunkRanges().sort()).toEqual(ids(1, 24).map((hi, i) => [i === 0 ? FIRST_ID : creditId(i), hi]).sort());
    expect(await latestRun(workflowId)).not.toBe(firstRun);
  });

  it('applies approved corrections across runs, each once, keeping who approved', async () => {
    const book = creditBook({ credits: 12, drifted: ids(1, 12).map((_, i) => i + 1) });
    let runAtApproval = '';
    const { workflowId, result } = await runBatch(book, { mode: 'REVIEW', parallelism: 4, startedBy: 'key-1 admin' }, async (handle) => {
      await eventually(() => handle.query(recalculationProgress), (p) => p.phase === 'AWAITING_APPROVAL');
      runAtApproval = await latestRun(handle.workflowId);
      await handle.executeUpdate(recalculationApproval, { args: [{ approve: true, decidedBy: 'key-3 checker' }] });
    });
    expect(result).toMatchObject({ status: 'COMPLETED', inconsistent: 12, corrected: 12, approvedBy: 'key-3 checker' });
    expect(book.argsOf('applyApprovedCorrections').map((a) => a.after)).toEqual([FIRST_ID, ...ids(1, 12)]);
    expect(book.argsOf('applyApprovedCorrections').every((a) => a.approvedBy === 'key-3 checker')).toBe(true);
    // It continued as new while applying, too.
    expect(await latestRun(workflowId)).not.toBe(runAtApproval);
  });
});
