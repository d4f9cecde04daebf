import { randomUUID } from 'node:crypto';

/**
 * The clients of the fault suite: payment submissions spread over every API process, as a
 * lender's clients behind a round-robin balancer would send them. A client that loses its
 * connection or gets a 5xx sends the same Idempotency-Key and body to the next API, with a
 * growing pause, until it gets an answer, runs out of tries or passes its deadline.
 */

export interface PaymentSpec {
  key: string;
  creditId: string;
  amount: string;
}

export interface Answer {
  key: string;
  /** The last HTTP status (0: no answer at all). */
  status: number;
  paymentId?: string;
  code?: string;
  tries: number;
  /** Index of the API that gave the final answer, or -1. */
  api: number;
  error?: string;
}

export interface BurstOptions {
  concurrency?: number;
  maxTries?: number;
  deadlineMs?: number;
  requestTimeoutMs?: number;
}

export interface Burst {
  /** Payments answered so far (accepted or refused for good, not retried any more). */
  answered(): number;
  /** Submissions that had to go to another API at least once. */
  retried(): number;
  /** Resolves once `n` payments have an answer: the condition a fault waits for. */
  untilAnswered(n: number, timeoutMs?: number): Promise<void>;
  done: Promise<Answer[]>;
}

/** A payment's deadline covers a Temporal or PostgreSQL restart; 24 clients keep both APIs busy on 2 cores. */
const DEFAULTS: Required<BurstOptions> = { concurrency: 24, maxTries: 80, deadlineMs: 180_000, requestTimeoutMs: 30_000 };

export const PAYMENT_DATE = '2026-02-01';

/** `count` payments spread over the credits, amounts in cents as decimal strings. */
export function paymentSpecs(creditIds: string[], count: number): PaymentSpec[] {
  return Array.from({ length: count }, (_, i) => ({ key: randomUUID(), creditId: creditIds[i % creditIds.length], amount: `${(i % 9) + 1}.${String(i % 100).padStart(2, '0')}` }));
}

/** An answer that settles the payment: 201/202, a refusal, or the saga's own FAILED (500 with that code). */
export function isFinal(status: number, code?: string): boolean {
  if (status === 500) return code === 'PAYMENT_FAILED';
  return status > 0 && status < 500;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One POST /v1/payments; a connection error or timeout is status 0. */
async function post(apiUrl: string, apiKey: string, spec: PaymentSpec, timeoutMs: number): Promise<{ status: number; body?: any; error?: string }> {
  try {
    const res = await fetch(`${apiUrl}/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'idempotency-key': spec.key },
      body: JSON.stringify({ creditId: spec.creditId, amount: spec.amount, paymentDate: PAYMENT_DATE }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, body };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { status: 0, error: cause ?? String((err as Error).name ?? err) };
  }
}

/** Submits one payment, first to API `first`, then to each next API in turn until it is settled. */
export async function submitWithRetry(apiUrls: string[], apiKey: string, spec: PaymentSpec, first: number, options: BurstOptions = {}, onRetry?: () => void): Promise<Answer> {
  const opts = { ...DEFAULTS, ...options };
  const deadline = Date.now() + opts.deadlineMs;
  let api = first;
  let last: Answer = { key: spec.key, status: 0, tries: 0, api: -1 };
  for (let tries = 1; tries <= opts.maxTries; tries++) {
    const got = await post(apiUrls[api], apiKey, spec, opts.requestTimeoutMs);
    last = { key: spec.key, status: got.status, code: got.body?.code, paymentId: got.body?.id ?? got.body?.paymentId, tries, api: got.status ? api : -1, error: got.error };
    if (isFinal(got.status, last.code)) return last;
    if (Date.now() > deadline) break;
    if (tries === 1) onRetry?.();
    api = (api + 1) % apiUrls.length;
    // Straight to the other API first; pause only once every API has failed this payment.
    if (tries >= apiUrls.length) await sleep(Math.min(2000, 100 * 2 ** Math.min(tries - apiUrls.length, 5)));
  }
  return last;
}

/** Starts the burst: `concurrency` clients take the next payment in turn, alternating their first API. */
export function startBurst(apiUrls: string[], apiKey: string, specs: PaymentSpec[], options: BurstOptions = {}): Burst {
  const opts = { ...DEFAULTS, ...options };
  const answers: Answer[] = new Array(specs.length);
  let next = 0;
  let answered = 0;
  let retried = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const settle = () => {
    for (const w of waiters.filter((w) => answered >= w.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const client = async () => {
    for (let i = next++; i < specs.length; i = next++) {
      answers[i] = await submitWithRetry(apiUrls, apiKey, specs[i], i % apiUrls.length, opts, () => retried++);
      answered++;
      settle();
    }
  };
  const done = Promise.all(Array.from({ length: opts.concurrency }, client)).then(() => {
    answered = specs.length;
    settle();
    return answers;
  });
  return {
    answered: () => answered,
    retried: () => retried,
    untilAnswered(n, timeoutMs = 120_000) {
      if (answered >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${answered} of ${n} payments answered after ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    done,
  };
}

/** Answers grouped by status (and problem code), e.g. { '201': 480, '202': 20 }: what a failure message shows. */
export function tally(answers: Answer[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) {
    const k = a.status === 0 ? `no answer (${a.error})` : a.code ? `${a.status} ${a.code}` : String(a.status);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}
