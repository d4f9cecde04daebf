// The payment saga's branches, run by the real workflow code on a real Temporal server with
// its database steps mocked: what the API and an operator see (outcome, stage, search
// attribute) and which steps and compensations ran, in what order.
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { paymentOutcome, paymentStage, paymentWorkflow } from '../../src/workflows';
import { PaymentRequest, paymentWorkflowId, Refusal } from '../../src/workflows/types';
import { deferred, openSandbox, operationStatus, recorded, Sandbox } from './sandbox';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await openSandbox();
});
afterAll(async () => {
  await sandbox?.stop();
});

function paymentRequest(): PaymentRequest {
  return {
    paymentId: randomUUID(),
    creditId: randomUUID(),
    amount: '150.00',
    paymentDate: '2026-11-02',
    reference: 'receipt 17',
    idempotencyKey: `cashier-1-${randomUUID()}`,
    actor: 'key-1 cashier-1',
  };
}

const ok = async () => ({ ok: true as const });
const done = async () => undefined;
const refused = (refusal: Refusal) => async () => ({ ok: false as const, refusal });
const failsForGood = (message: string) => async () => {
  throw ApplicationFailure.nonRetryable(message, 'StepFailed');
};

/** Every database step answering as on a healthy database, overridden per test. */
function paymentSteps(overrides: Record<string, (...args: any[]) => Promise<unknown>> = {}) { // eslint-disable-line @typescript-eslint/no-explicit-any
  return recorded({
    validatePayment: ok,
    recordRejection: done,
    persistPayment: done,
    applyPayment: ok,
    recordPaymentOutcome: done,
    compensatePayment: done,
    ...overrides,
  });
}

/** Starts the payment as the API does (update-with-start) and returns the outcome it answers. */
async function submit(taskQueue: string, req: PaymentRequest) {
  const start = new WithStartWorkflowOperation(paymentWorkflow, {
    workflowId: paymentWorkflowId(req.paymentId),
    taskQueue,
    args: [req],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  const answered = await sandbox.env.client.workflow.executeUpdateWithStart(paymentOutcome, { startWorkflowOperation: start });
  return { answered, handle: await start.workflowHandle() };
}

describe('payment workflow', () => {
  it('applies a valid payment: validate → persist → apply → audit, answers APPLIED', async () => {
    const req = paymentRequest();
    const steps = paymentSteps();
    await sandbox.withWorker(steps.activities, async (taskQueue) => {
      const { answered, handle } = await submit(taskQueue, req);
      expect(answered).toEqual({ status: 'APPLIED', paymentId: req.paymentId });
      expect(await handle.result()).toEqual(answered);
      expect(await handle.query(paymentStage)).toBe('APPLIED');
      expect(await operationStatus(handle)).toBe('APPLIED');

      expect(steps.names()).toEqual(['validatePayment', 'persistPayment', 'applyPayment', 'recordPaymentOutcome']);
      const wf = { workflowId: paymentWorkflowId(req.paymentId), runId: (await handle.describe()).runId };
      expect(steps.calls[1].args).toEqual([req, wf]);
      const [, outcome, timingsMs, auditWf] = steps.calls[3].args as [unknown, unknown, Record<string, number>, unknown];
      expect(outcome).toEqual({ status: 'APPLIED', paymentId: req.paymentId });
      expect(Object.keys(timingsMs).sort()).toEqual(['applied', 'validated']);
      expect(auditWf).toEqual(wf);
    });
  });

  it('records a payment the validation refuses as REJECTED with its reason, and goes no further', async () => {
    const req = paymentRequest();
    const refusal = { code: 'AMOUNT_EXCEEDS_BALANCE', detail: 'amount 150.00 exceeds the balance 100.00', field: 'amount' };
    const steps = paymentSteps({ validatePayment: refused(refusal) });
    await sandbox.withWorker(steps.activities, async (taskQueue) => {
      const { answered, handle } = await submit(taskQueue, req);
      expect(answered).toEqual({ status: 'REJECTED', paymentId: req.paymentId, refusal });
      expect(await handle.query(paymentStage)).toBe('REJECTED');
      expect(await operationStatus(handle)).toBe('REJECTED');
      expect(steps.names()).toEqual(['validatePayment', 'recordRejection']);
      expect(steps.calls[1].args[1]).toEqual(refusal);
    });
  });

  it('rejects, without compensating, a payment the locked apply refuses (the credit changed since validation)', async () => {
    const req = paymentRequest();
    const refusal = { code: 'AMOUNT_EXCEEDS_BALANCE', detail: 'another payment left 20.00' };
    const steps = paymentSteps({ applyPayment: refused(refusal) });
    await sandbox.withWorker(steps.activities, async (taskQueue) => {
      const { answered } = await submit(taskQueue, req);
      expect(answered).toEqual({ status: 'REJECTED', paymentId: req.paymentId, refusal });
      expect(steps.names()).toEqual(['validatePayment', 'persistPayment', 'applyPayment', 'recordRejection']);
    });
  });

  it('compensates a payment whose apply fails for good after persist: FAILED with the cause', async () => {
    const req = paymentRequest();
    const steps = paymentSteps({ applyPayment: failsForGood('ledger write refused') });
    await sandbox.withWorker(steps.activities, async (taskQueue) => {
      const { answered, handle } = await submit(taskQueue, req);
      expect(answered).toMatchObject({ status: 'FAILED', paymentId: req.paymentId, cause: expect.stringContaining('ledger write refused') });
      expect(await operationStatus(handle)).toBe('FAILED');
      expect(steps.names()).toEqual(['validatePayment', 'persistPayment', 'applyPayment', 'compensatePayment']);
      expect(steps.calls[3].args[1]).toBe((answered as { cause: string }).cause);
    });
  });

  it('compensates after the ledger write when the audit step fails for good', async () => {
    const req = paymentRequest();
    const steps = paymentSteps({ recordPaymentOutcome: failsForGood('audit log unavailable') });
    await sandbox.withWorker(steps.activities, async (taskQueue) => {
      const { answered } = await submit(taskQueue, req);
      expect(answered).toMatchObject({ status: 'FAILED', cause: expect.stringContaining('audit log unavailable') });
      expect(steps.names()).toEqual(['validatePayment', 'persistPayment', 'applyPayment', 'recordPaymentOutcome', 'compensatePayment']);
    });
  });

  it('compensates a failure before persist too, so the payment still gets a terminal state', async () => {
    const req = paymentRequest();
    const steps = paymentSteps({ validatePayment: failsForGood('credit table unreadable') });
    await sandbox.withWorker(steps.activities, async (taskQueue) => {
      const { answered } = await submit(taskQueue, req);
      expect(answered).toMatchObject({ status: 'FAILED', cause: expect.stringContaining('credit table unreadable') });
      expect(steps.names()).toEqual(['validatePayment', 'compensatePayment']);
    });
  });

  it('compensates when a step answers something the workflow cannot read (a bug), naming the error', async () => {
    const req = paymentRequest();
    const steps = paymentSteps({ validatePayment: done });
    await sandbox.withWorker(steps.activities, async (taskQueue) => {
      const { answered } = await submit(taskQueue, req);
      expect(answered).toMatchObject({ status: 'FAILED', cause: expect.stringMatching(/undefined/) });
      expect(steps.names()).toEqual(['validatePayment', 'compensatePayment']);
    });
  });

  it('retries a step that fails for a while, then applies without compensating', async () => {
    const req = paymentRequest();
    let attempts = 0;
    const steps = paymentSteps({
      persistPayment: async () => {
        if (++attempts < 3) throw new Error('connection reset');
      },
    });
    await sandbox.withWorker(steps.activities, async (taskQueue) => {
      const { answered } = await submit(taskQueue, req);
      expect(answered).toEqual({ status: 'APPLIED', paymentId: req.paymentId });
      expect(steps.names()).toEqual(['validatePayment', 'persistPayment', 'persistPayment', 'persistPayment', 'applyPayment', 'recordPaymentOutcome']);
    });
  });

  it('retries a failing compensation until it finishes', async () => {
    const req = paymentRequest();
    let attempts = 0;
    const steps = paymentSteps({
      applyPayment: failsForGood('ledger write refused'),
      compensatePayment: async () => {
        if (++attempts < 3) throw new Error('database restarting');
      },
    });
    await sandbox.withWorker(steps.activities, async (taskQueue) => {
      const { answered } = await submit(taskQueue, req);
      expect(answered).toMatchObject({ status: 'FAILED' });
      expect(steps.names()).toEqual(['validatePayment', 'persistPayment', 'applyPayment', 'compensatePayment', 'compensatePayment', 'compensatePayment']);
    });
  });

  it('compensates a payment an operator cancels while it is applying: FAILED, "cancelled by an operator"', async () => {
    const req = paymentRequest();
    const applying = deferred();
    const steps = paymentSteps({
      // Stuck (a lock held elsewhere) until the cancellation reaches it.
      applyPayment: async () => {
        applying.resolve();
        await Context.current().sleep(30_000);
        return { ok: true };
      },
    });
    await sandbox.withWorker(steps.activities, async (taskQueue) => {
      // A workflow busy in a local activity sees queries and the cancellation when its task
      // heartbeats, at 80% of this timeout: short here so that the test does not wait 8 s.
      const handle = await sandbox.env.client.workflow.start(paymentWorkflow, { workflowId: paymentWorkflowId(req.paymentId), taskQueue, args: [req], workflowTaskTimeout: '2 seconds' });
      await applying.promise;
      expect(await handle.query(paymentStage)).toBe('applying');
      await handle.cancel();
      expect(await handle.result()).toEqual({ status: 'FAILED', paymentId: req.paymentId, cause: 'cancelled by an operator' });
      expect(steps.names()).toEqual(['validatePayment', 'persistPayment', 'applyPayment', 'compensatePayment']);
      expect(steps.calls[3].args[1]).toBe('cancelled by an operator');
    });
  });

  it('compensates a payment an operator cancels before any worker picked it up', async () => {
    const req = paymentRequest();
    const steps = paymentSteps();
    const taskQueue = `no-worker-yet-${randomUUID()}`;
    const handle = await sandbox.env.client.workflow.start(paymentWorkflow, { workflowId: paymentWorkflowId(req.paymentId), taskQueue, args: [req] });
    await handle.cancel();
    const outcome = await sandbox.withWorker(steps.activities, () => handle.result(), taskQueue);
    expect(outcome).toEqual({ status: 'FAILED', paymentId: req.paymentId, cause: 'cancelled by an operator' });
    expect(steps.names()).toEqual(['compensatePayment']);
  });
});
