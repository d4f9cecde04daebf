import { randomUUID } from 'node:crypto';
import { paymentIdForKey } from '../../src/client/payments';
import { expectNothingLost } from '../support/cluster-checks';
import { burstOnNewCredits, createCredits, report, sharedCluster } from '../support/cluster-env';
import { submitWithRetry, tally } from '../support/cluster-load';
import { chunksOn, finishedChunkRuns, finishedChunks, makeDrift, pidOf, startBatch, untilChunkInFlight, untilChunksOnAll, waitBatch } from '../support/cluster-recalc';

// One topology (Temporal's server, 2 APIs, 2 workers, embedded PostgreSQL) for the file's
// scenarios; each starts with every process up, and works on credits of its own.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cluster = sharedCluster({ RECALC_CHUNK_SIZE: '4', RECALC_PARALLELISM: '2' });

describe('the cluster under process faults, 500 payments over both APIs each', () => {
  it('a worker SIGKILLed mid-burst and restarted 5 s later: nothing lost, nothing applied twice', async () => {
    const tc = cluster();
    const { credits, specs, burst } = await burstOnNewCredits(tc, 150);
    const worker = tc.cluster.workers[0];
    await worker.kill('SIGKILL');
    const answeredAtKill = burst.answered();
    await sleep(5000);
    await worker.start();
    const answers = await burst.done;
    expect(answeredAtKill).toBeLessThan(specs.length);
    report('worker SIGKILL', { answeredAtKill, ...(await expectNothingLost(tc, specs, answers, credits)) });
  }, 600_000);

  it('an API process SIGKILLed mid-burst: its clients go to the other API with the same key; nothing lost', async () => {
    const tc = cluster();
    const { credits, specs, burst } = await burstOnNewCredits(tc, 150);
    await tc.cluster.apis[0].kill('SIGKILL');
    const answeredAtKill = burst.answered();
    const answers = await burst.done;
    await tc.cluster.apis[0].start();
    expect(answeredAtKill).toBeLessThan(specs.length);
    // Every payment sent to the dead API after the kill was answered by the other one.
    expect(burst.retried()).toBeGreaterThan(0);
    const figures = await expectNothingLost(tc, specs, answers, credits);
    expect((await fetch(`${tc.cluster.apiUrls[0]}/ready`)).status).toBe(200);
    report('API SIGKILL', { answeredAtKill, ...figures });
  }, 600_000);

  it('20 concurrent submissions of one key, half on each API, mid-burst: one payment, every answer the same', async () => {
    const tc = cluster();
    const stormCredits = await createCredits(tc, 5);
    const storms = stormCredits.map((creditId, i) => ({ key: randomUUID(), creditId, amount: `${i + 1}5.55` }));
    const { credits, specs, burst } = await burstOnNewCredits(tc, 150);
    const answeredAtStorm = burst.answered();
    const stormAnswers = await Promise.all(storms.map((spec) => Promise.all(Array.from({ length: 20 }, (_, j) => submitWithRetry(tc.apiUrls, tc.apiKey, spec, j % 2)))));
    const answers = await burst.done;
    expect(answeredAtStorm).toBeLessThan(specs.length);
    for (const [i, spec] of storms.entries()) {
      const got = stormAnswers[i];
      expect(tally(got.filter((a) => a.status !== 201 && a.status !== 202))).toEqual({});
      expect(new Set(got.map((a) => a.paymentId))).toEqual(new Set([paymentIdForKey(spec.key)]));
      expect(new Set(got.map((a) => a.api))).toEqual(new Set([0, 1]));
    }
    const figures = await expectNothingLost(tc, [...specs, ...storms], [...answers, ...stormAnswers.flat()], [...credits, ...stormCredits]);
    report('duplicate storm', { answeredAtStorm, storms: storms.length, stormAnswers: tally(stormAnswers.flat()), ...figures });
  }, 600_000);

  it('a correcting recalculation whose chunks run on both workers, one worker SIGKILLed mid-batch: exact counts', async () => {
    const tc = cluster();
    const batchCredits = await createCredits(tc, 400, { installments: 6 });
    const ds = await tc.openDb();
    try {
      const drifted = await makeDrift(ds, batchCredits, 20);
      const { credits, specs, burst } = await burstOnNewCredits(tc, 100);
      const runId = await startBatch(tc, { mode: 'CORRECT', creditIds: batchCredits });
      const temporal = await tc.temporal();
      const workerPids = tc.cluster.workers.map((w) => w.pid!);

      // Mid-batch: once both workers have finished chunks and a fifth are done, kill the worker
      // that has a chunk in hand at that moment: that chunk must run again elsewhere, counted once.
      await untilChunksOnAll(temporal, runId, workerPids, 20);
      const inFlight = await untilChunkInFlight(temporal, runId, workerPids);
      const victim = tc.cluster.workers.find((w) => w.pid === pidOf(inFlight.identity))!;
      const victimPid = victim.pid;
      await victim.kill('SIGKILL');
      const chunksAtKill = await finishedChunks(ds, runId);
      expect(chunksAtKill).toBeLessThan(100);

      const done = await waitBatch(tc, runId);
      expect(done).toMatchObject({ mode: 'CORRECT', status: 'COMPLETED', scanned: 400, inconsistent: drifted.length, corrected: drifted.length, errors: 0 });
      expect(done.inconsistentCredits.map((c: { creditId: string }) => c.creditId)).toEqual(drifted);
      expect(await finishedChunks(ds, runId)).toBe(100);
      const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'credit.recalculated' AND details->>'runId' = $1`, [runId]);
      expect(n).toBe(drifted.length);
      const runs = await finishedChunkRuns(temporal, runId);
      expect(runs).toHaveLength(100);
      expect(workerPids.map((pid) => chunksOn(runs, pid) > 0)).toEqual([true, true]);
      // The chunk the victim had in hand finished on a later attempt, on the other worker (unless it finished just before the kill).
      const interrupted = runs.find((r) => r.activityId === inFlight.activityId)!;
      const rerun = interrupted.attempt > inFlight.attempt;
      if (rerun) expect(pidOf(interrupted.identity)).not.toBe(victimPid);

      await victim.start();
      const figures = await expectNothingLost(tc, specs, await burst.done, credits);
      report('recalculation with a worker SIGKILL', { runId, drifted: drifted.length, victimPid, chunksAtKill, chunksPerWorker: workerPids.map((pid) => chunksOn(runs, pid)), workerPids, inFlightChunkRerun: rerun, ...figures });
    } finally {
      await ds.destroy();
    }
  }, 600_000);
});
