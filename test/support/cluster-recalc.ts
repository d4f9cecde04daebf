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

/** One finished chunk: its activity, the worker (identity pid@host) and attempt that finished it. */
export interface ChunkRun {
  activityId: string;
  identity: string;
  attempt: number;
}

/** Every finished recalculateChunk of the batch, from the ActivityTaskStarted events of its Temporal history. */
export async function finishedChunkRuns(client: Client, runId: string): Promise<ChunkRun[]> {
  const history = await client.workflow.getHandle(runId).fetchHistory();
  const chunkIds = new Map<string, string>();
  const runs: ChunkRun[] = [];
  for (const e of history.events ?? []) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'recalculateChunk') chunkIds.set(String(e.eventId), scheduled.activityId ?? '');
    const started = e.activityTaskStartedEventAttributes;
    const activityId = started ? chunkIds.get(String(started.scheduledEventId)) : undefined;
    if (started && activityId !== undefined) runs.push({ activityId, identity: started.identity ?? 'unknown', attempt: started.attempt ?? 1 });
  }
  return runs;
}

/** A chunk a worker is running right now (Temporal's pending activities), if any. */
export async function chunkInFlight(client: Client, runId: string): Promise<ChunkRun | undefined> {
  const { raw } = await client.workflow.getHandle(runId).describe();
  // State 2 is PENDING_ACTIVITY_STATE_STARTED: a worker has it in hand.
  const running = (raw.pendingActivities ?? []).find((a) => a.activityType?.name === 'recalculateChunk' && Number(a.state) === 2 && a.lastWorkerIdentity);
  return running ? { activityId: running.activityId ?? '', identity: running.lastWorkerIdentity!, attempt: running.attempt ?? 1 } : undefined;
}

/** The worker pid an identity names (the SDK's default identity is pid@host). */
export const pidOf = (identity: string) => Number(identity.split('@')[0]);

/** How many of these chunks each worker finished, by pid. */
export const chunksOn = (runs: ChunkRun[], pid?: number) => runs.filter((r) => pidOf(r.identity) === pid).length;

/** Polls the batch's history until every one of these workers has finished a chunk and `atLeast` are finished. */
export async function untilChunksOnAll(client: Client, runId: string, pids: number[], atLeast: number, timeoutMs = 120_000): Promise<ChunkRun[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const runs = await finishedChunkRuns(client, runId);
    if (runs.length >= atLeast && pids.every((pid) => chunksOn(runs, pid) > 0)) return runs;
    if (Date.now() > deadline) throw new Error(`after ${timeoutMs} ms, ${runs.length} chunks finished, by worker: ${JSON.stringify(pids.map((pid) => chunksOn(runs, pid)))}`);
    await sleep(100);
  }
}

/** Polls until one of these workers has a chunk in hand; returns it. */
export async function untilChunkInFlight(client: Client, runId: string, pids: number[], timeoutMs = 60_000): Promise<ChunkRun> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const running = await chunkInFlight(client, runId);
    if (running && pids.includes(pidOf(running.identity))) return running;
    if (Date.now() > deadline) throw new Error(`no chunk in a worker's hands for ${timeoutMs} ms`);
    await sleep(5);
  }
}
