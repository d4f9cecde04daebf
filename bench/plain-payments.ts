import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { createPaymentActivities } from '../src/activities/payment-activities';
import { createCredit } from '../src/db/credits';
import { recordKey, requestHash } from '../src/db/idempotency-keys';

// The payment benchmarks' shared parts: credits to pay, which credit and amount payment i takes, a bounded pool,
// and one payment through the workflow's database steps in plain transactions (no Temporal, no HTTP).

/** Payment i goes to a credit drawn so that a few credits receive many payments. */
export function creditFor(i: number, credits: string[]): string {
  // Half the payments hit the first tenth of the credits (hot credits serialise on their row lock).
  const hot = Math.max(1, Math.floor(credits.length / 10));
  return i % 2 === 0 ? credits[(i >> 1) % hot] : credits[(i * 7919) % credits.length];
}

export const amountFor = (i: number) => `${(i % 50) + 1}.${String((i * 37) % 100).padStart(2, '0')}`;

export async function makeCredits(ds: DataSource, k: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < k; i++) {
    ids.push(await createCredit(ds, { clientId: `bench-${i}`, principal: '900000000.00', interestRate: '0.01', installments: 24, startDate: '2026-01-01' }, 'bench'));
  }
  return ids;
}

export async function pool<T>(n: number, concurrency: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      for (let i = next++; i < n; i = next++) out[i] = await job(i);
    }),
  );
  return out;
}

/** One payment through the same steps the workflow runs (validate, persist, apply, outcome), in plain transactions. */
export async function payPlain(ds: DataSource, steps: ReturnType<typeof createPaymentActivities>, creditId: string, amount: string, today: string): Promise<void> {
  const req = { paymentId: randomUUID(), creditId, amount, paymentDate: today, reference: null, idempotencyKey: randomUUID(), actor: 'bench' };
  const wf = { workflowId: `plain-${req.paymentId}`, runId: 'plain' };
  // Recorded first, as the API records it: only a recorded request may move money.
  await recordKey(ds, { key: req.idempotencyKey, requestHash: requestHash(req), request: req });
  const verdict = await steps.validatePayment(req);
  // Every benchmark payment is one the domain accepts: a refusal means the benchmark measures nothing.
  if (!verdict.ok) throw new Error(`benchmark payment refused: ${verdict.refusal.code} ${verdict.refusal.detail}`);
  await steps.persistPayment(req, wf);
  await steps.applyPayment(req, wf);
  await steps.recordPaymentOutcome(req, { status: 'APPLIED', paymentId: req.paymentId }, {}, wf);
}
