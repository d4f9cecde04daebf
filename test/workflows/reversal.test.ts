// The reversal workflow's branches, with its two database steps mocked: what the API gets
// back and which steps ran.
import { randomUUID } from 'node:crypto';
import { reversalWorkflow } from '../../src/workflows';
import { Refusal, ReversalRequest, reversalWorkflowId } from '../../src/workflows/types';
import { openSandbox, operationStatus, recorded, Sandbox } from './sandbox';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await openSandbox();
});
afterAll(async () => {
  await sandbox?.stop();
});

const ok = async () => ({ ok: true as const });
const refused = (refusal: Refusal) => async () => ({ ok: false as const, refusal });

async function reverse(steps: ReturnType<typeof recorded>) {
  const req: ReversalRequest = { paymentId: randomUUID(), reason: 'cheque bounced', actor: 'key-2 supervisor' };
  return sandbox.withWorker(steps.activities, async (taskQueue) => {
    const handle = await sandbox.env.client.workflow.start(reversalWorkflow, { workflowId: reversalWorkflowId(req.paymentId), taskQueue, args: [req] });
    return { req, handle, outcome: await handle.result(), status: await operationStatus(handle) };
  });
}

describe('reversal workflow', () => {
  it('reverses an applied payment: validate, then reverse in one step, answers REVERSED', async () => {
    const steps = recorded({ validateReversal: ok, reversePayment: ok });
    const { req, handle, outcome, status } = await reverse(steps);
    expect(outcome).toEqual({ status: 'REVERSED', paymentId: req.paymentId });
    expect(status).toBe('REVERSED');
    expect(steps.names()).toEqual(['validateReversal', 'reversePayment']);
    expect(steps.calls[1].args).toEqual([req, { workflowId: reversalWorkflowId(req.paymentId), runId: handle.firstExecutionRunId }]);
  });

  it('refuses without reversing when the validation refuses (not applied, already reversed)', async () => {
    const refusal = { code: 'PAYMENT_NOT_APPLIED', detail: 'only an APPLIED payment can be reversed; this one is REJECTED' };
    const steps = recorded({ validateReversal: refused(refusal), reversePayment: ok });
    const { req, outcome, status } = await reverse(steps);
    expect(outcome).toEqual({ status: 'REFUSED', paymentId: req.paymentId, refusal });
    expect(status).toBe('REFUSED');
    expect(steps.names()).toEqual(['validateReversal']);
  });

  it('refuses when the reversing transaction finds the payment reversed meanwhile', async () => {
    const refusal = { code: 'PAYMENT_ALREADY_REVERSED', detail: 'the payment was already reversed' };
    const steps = recorded({ validateReversal: ok, reversePayment: refused(refusal) });
    const { req, outcome } = await reverse(steps);
    expect(outcome).toEqual({ status: 'REFUSED', paymentId: req.paymentId, refusal });
    expect(steps.names()).toEqual(['validateReversal', 'reversePayment']);
  });
});
