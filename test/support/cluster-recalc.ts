import type { Client } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import type { TestCluster } from './cluster-env';

/** The recalculation scenario's pieces: drift made on purpose, the batch followed over the API, and where its chunks ran. */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every `every`-th credit drifts, alternately in its totals and in its payment count; returns their ids, sorted. */
export async function makeDrift(ds: DataSource, creditIds: string[], every: number): Promise<string[]> {
  const drifted = creditIds.filter((_, i) => i % every === 0);
  const totals = drifted.filter((_, i) => i % 2 === 0);
  const counts = drifted.filter((_, i) => i % 2 === 1);
  await ds.query(`UPDATE credits SET total_paid = total_paid + 10, balance = balance - 10 WHERE id = ANY($1::uuid[])`, [totals]);
  await ds.query(`UPDATE credits SET payment_count = payment_count + 1 WHERE id = ANY($1::uuid[])`, [counts]);
  return [...drifted].sort();
}

async function api(tc: TestCluster, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${tc.apiUrls[0]}${path}`, {
    method,
    headers: { authorization: `Bearer ${tc.apiKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, body: await res.json() };
}

export async function startBatch(tc: TestCluster, body: Record<string, unknown>): Promise<string> {
  const started = await api(tc, 'POST', '/recalculations', body);
  if (started.status !== 202) throw new Error(`recalculation not started: ${started.status} ${JSON.stringify(started.body)}`);
  return started.body.id;
}

/** GET /v1/recalculations/:id until it is COMPLETED (or failed for good), with its findings. */
export async function waitBatch(tc: TestCluster, runId: string, timeoutMs = 240_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await api(tc, 'GET', `/recalculations/${runId}?limit=1000`).catch(() => undefined);
    if (got?.status === 200 && ['COMPLETED', 'REJECTED', 'FAILED'].includes(got.body.status)) return got.body;
    if (Date.now() > deadline) throw new Error(`recalculation ${runId} not finished after ${timeoutMs} ms: ${JSON.stringify(got?.body)}`);
    await sleep(250);
  }
}

export async function finishedChunks(ds: DataSource, runId: string): Promise<number> {
  const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM recalculation_chunks WHERE run_id = $1`, [runId]);
  return n;
}

/**
 * Which worker ran each finished chunk: the identity (pid@host) on each recalculateChunk's
 * ActivityTaskStarted event in the batch's Temporal history: identity → chunks, and how many
 * chunks finished on a later attempt (one a killed worker had in hand).
 */
export async function chunkWorkers(client: Client, runId: string): Promise<{ byWorker: Record<string, number>; retried: number }> {
  const history = await client.workflow.getHandle(runId).fetchHistory();
  const chunkScheduled = new Set<string>();
  const out: Record<string, number> = {};
  let retried = 0;
  for (const e of history.events ?? []) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'recalculateChunk') chunkScheduled.add(String(e.eventId));
    const started = e.activityTaskStartedEventAttributes;
    if (started && chunkScheduled.has(String(started.scheduledEventId))) {
      const who = started.identity ?? 'unknown';
      out[who] = (out[who] ?? 0) + 1;
      if ((started.attempt ?? 1) > 1) retried++;
    }
  }
  return { byWorker: out, retried };
}

/** The worker pids named by those identities (the SDK's default identity is pid@host). */
export const pidOf = (identity: string) => Number(identity.split('@')[0]);
