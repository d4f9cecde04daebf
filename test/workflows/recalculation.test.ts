// The recalculation workflow's branches with its database steps answered by an in-memory
// credit book: the chunks it walks, the progress an admin sees, the three modes, the
// maker-checker approval and the alert.
import { randomUUID } from 'node:crypto';
import { WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { recalculationApproval, recalculationProgress, recalculationWorkflow } from '../../src/workflows';
import type { RecalculationInput, RecalculationProgress } from '../../src/workflows/types';
import { BookOptions, creditBook, creditId, FIRST_ID } from './recalculation-book';
import { eventually, openSandbox, operationStatus, Sandbox } from './sandbox';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await openSandbox();
});
afterAll(async () => {
  await sandbox?.stop();
});

type Book = ReturnType<typeof creditBook>;
type Handle = WorkflowHandle<typeof recalculationWorkflow>;

const progressOf = (h: Handle) => h.query(recalculationProgress);

/** Starts a batch on a worker backed by `book`; `during` looks at it while it runs. */
async function runBatch(book: Book, input: Partial<RecalculationInput>, during?: (h: Handle) => Promise<void>) {
  return sandbox.withWorker(book.activities, async (taskQueue) => {
    const args: RecalculationInput = { mode: 'DRY_RUN', chunkSize: 3, parallelism: 2, startedBy: 'key-1 admin', ...input };
    const handle = await sandbox.env.client.workflow.start(recalculationWorkflow, { workflowId: `recalculation-${randomUUID()}`, taskQueue, args: [args] });
    await during?.(handle);
    const result = await handle.result();
    // Queries of a finished workflow are answered by a worker too.
    return { handle, result, status: await operationStatus(handle), progressAfter: await progressOf(handle) };
  });
}

/** The reason an update was refused, as the API reads it. */
async function refusalOf(update: Promise<unknown>): Promise<string> {
  const err = (await update.then(
    () => undefined,
    (e: Error) => e,
  )) as (Error & { cause?: Error }) | undefined;
  if (!err) throw new Error('the update was accepted');
  return err.cause?.message ?? err.message;
}

const inPhase = (phase: RecalculationProgress['phase']) => (p: RecalculationProgress) => p.phase === phase;

describe('recalculation workflow: scanning', () => {
  it('a dry run walks every credit once in keyset chunks, counts the drifted ones and alerts', async () => {
    const book = creditBook({ credits: 10, drifted: [2, 7], alert: 'delivered' });
    const { handle, result, status, progressAfter } = await runBatch(book, { mode: 'DRY_RUN' });
    expect(result).toMatchObject({ mode: 'DRY_RUN', status: 'COMPLETED', phase: 'DONE', scanned: 10, inconsistent: 2, corrected: 0, errors: 0, position: creditId(10), alerted: true });
    expect(status).toBe('COMPLETED');
    // Two chunks at a time, contiguous and without overlap: (0,3] (3,6] then (6,9] (9,10].
    expect(book.chunkRanges()).toEqual([
      [FIRST_ID, creditId(3)],
      [creditId(3), creditId(6)],
      [creditId(6), creditId(9)],
      [creditId(9), creditId(10)],
    ]);
    expect(book.argsOf('beginRecalculation')).toEqual([{ runId: handle.workflowId, mode: 'DRY_RUN', creditIds: undefined, startedBy: 'key-1 admin' }]);
    expect(book.argsOf('finishRecalculation')).toEqual([
      expect.objectContaining({ runId: handle.workflowId, mode: 'DRY_RUN', status: 'COMPLETED', scanned: 10, inconsistent: 2, corrected: 0, errors: 0 }),
    ]);
    expect(book.argsOf('sendRecalculationAlert')).toHaveLength(1);
    expect(progressAfter).toEqual(result);
  });

  it('shows its progress while it runs: where it is and what it counted so far', async () => {
    const book = creditBook({ credits: 10, drifted: [2] });
    const held = book.holdAfter(6);
    const { result } = await runBatch(book, { chunkSize: 3, parallelism: 2 }, async (handle) => {
      await held.started;
      expect(await progressOf(handle)).toMatchObject({ status: 'RUNNING', phase: 'SCANNING', scanned: 6, inconsistent: 1, position: creditId(6) });
      held.release();
    });
    expect(result).toMatchObject({ status: 'COMPLETED', scanned: 10, inconsistent: 1 });
  });

  it('a correcting run corrects what it finds; errors are counted, not fatal', async () => {
    const book = creditBook({ credits: 7, drifted: [1, 4, 5], broken: [6], alert: 'delivered' });
    const { result } = await runBatch(book, { mode: 'CORRECT', chunkSize: 2, parallelism: 3 });
    expect(result).toMatchObject({ mode: 'CORRECT', status: 'COMPLETED', scanned: 7, inconsistent: 3, corrected: 3, errors: 1, alerted: true });
    expect(book.chunkRanges().every(([, hi]) => hi <= creditId(7))).toBe(true);
  });

  it('sends no alert when every credit is consistent', async () => {
    const book = creditBook({ credits: 4, drifted: [] });
    const { result } = await runBatch(book, { mode: 'CORRECT' });
    expect(result).toMatchObject({ status: 'COMPLETED', scanned: 4, inconsistent: 0, corrected: 0 });
    expect(result.alerted).toBeUndefined();
    expect(book.names()).not.toContain('sendRecalculationAlert');
  });

  it('completes, with alerted false, when the alert webhook is down for good', async () => {
    const book = creditBook({ credits: 4, drifted: [3], alert: 'down' });
    const { result, status } = await runBatch(book, {});
    expect(result).toMatchObject({ status: 'COMPLETED', inconsistent: 1, alerted: false });
    expect(status).toBe('COMPLETED');
  });
});

describe('recalculation workflow: review (maker-checker)', () => {
  const review = (opts: Partial<BookOptions> = {}) => creditBook({ credits: 9, drifted: [2, 3, 5, 8, 9], alert: 'delivered', ...opts });

  it('stores the findings, waits for an admin, and on approval applies them in chunks', async () => {
    const book = review();
    const { result, status } = await runBatch(book, { mode: 'REVIEW', chunkSize: 2 }, async (handle) => {
      const waiting = await eventually(() => progressOf(handle), inPhase('AWAITING_APPROVAL'));
      expect(waiting).toMatchObject({ status: 'AWAITING_APPROVAL', scanned: 9, inconsistent: 5, corrected: 0 });
      expect(await operationStatus(handle)).toBe('AWAITING_APPROVAL');
      // The status is written just after the phase changes: a query may come between the two.
      const written = await eventually(async () => book.argsOf('updateRecalculationStatus'), (calls) => calls.length > 0);
      expect(written).toEqual([expect.objectContaining({ runId: handle.workflowId, status: 'AWAITING_APPROVAL' })]);
      expect(book.names()).not.toContain('applyApprovedCorrections');
      await handle.executeUpdate(recalculationApproval, { args: [{ approve: true, decidedBy: 'key-3 checker' }] });
    });
    expect(result).toMatchObject({ mode: 'REVIEW', status: 'COMPLETED', phase: 'DONE', inconsistent: 5, corrected: 5, approvedBy: 'key-3 checker' });
    expect(status).toBe('COMPLETED');
    expect(book.argsOf('recordRecalculationDecision')).toEqual([expect.objectContaining({ approved: true, decidedBy: 'key-3 checker' })]);
    // From the first id, two findings at a time, until a short page says it is done.
    expect(book.argsOf('applyApprovedCorrections').map((a) => a.after)).toEqual([FIRST_ID, creditId(3), creditId(8)]);
    expect(book.argsOf('finishRecalculation')).toEqual([expect.objectContaining({ status: 'COMPLETED', corrected: 5 })]);
  });

  it('answers an approval with APPLYING, the status the run is in from then on', async () => {
    const book = review();
    let answer: unknown;
    await runBatch(book, { mode: 'REVIEW' }, async (handle) => {
      await eventually(() => progressOf(handle), inPhase('AWAITING_APPROVAL'));
      answer = await handle.executeUpdate(recalculationApproval, { args: [{ approve: true, decidedBy: 'key-3 checker' }] });
    });
    expect(answer).toEqual({ status: 'APPLYING' });
  });

  it('on rejection changes nothing, ends REJECTED, and still reports what it found', async () => {
    const book = review();
    let answer: unknown;
    const { result, status } = await runBatch(book, { mode: 'REVIEW' }, async (handle) => {
      await eventually(() => progressOf(handle), inPhase('AWAITING_APPROVAL'));
      answer = await handle.executeUpdate(recalculationApproval, { args: [{ approve: false, decidedBy: 'key-3 checker' }] });
    });
    expect(answer).toEqual({ status: 'REJECTED' });
    expect(result).toMatchObject({ status: 'REJECTED', inconsistent: 5, corrected: 0, approvedBy: 'key-3 checker', alerted: true });
    expect(status).toBe('REJECTED');
    expect(book.names()).not.toContain('applyApprovedCorrections');
    expect(book.argsOf('finishRecalculation')).toEqual([expect.objectContaining({ status: 'REJECTED' })]);
  });

  it('refuses a decision while it is still scanning, and a second decision', async () => {
    const book = review();
    const held = book.holdAfter(0);
    await runBatch(book, { mode: 'REVIEW' }, async (handle) => {
      await held.started;
      const early = handle.executeUpdate(recalculationApproval, { args: [{ approve: true, decidedBy: 'key-3 checker' }] });
      await expect(early).rejects.toThrow(WorkflowUpdateFailedError);
      expect(await refusalOf(early)).toBe('this recalculation is not awaiting approval (it is RUNNING)');
      held.release();
      await eventually(() => progressOf(handle), inPhase('AWAITING_APPROVAL'));
      await handle.executeUpdate(recalculationApproval, { args: [{ approve: false, decidedBy: 'key-3 checker' }] });
      const late = handle.executeUpdate(recalculationApproval, { args: [{ approve: true, decidedBy: 'key-4 other' }] });
      // Refused by the workflow, or by the server once the workflow has finished.
      expect(await refusalOf(late)).toMatch(/not awaiting approval \(it is REJECTED\)|completed/);
    });
    expect(book.argsOf('recordRecalculationDecision')).toEqual([expect.objectContaining({ approved: false })]);
  });

  it('completes without waiting when it finds nothing to review', async () => {
    const book = review({ drifted: [] });
    const { result } = await runBatch(book, { mode: 'REVIEW' });
    expect(result).toMatchObject({ status: 'COMPLETED', scanned: 9, inconsistent: 0 });
    expect(book.names()).not.toContain('updateRecalculationStatus');
    expect(book.names()).not.toContain('recordRecalculationDecision');
  });
});
