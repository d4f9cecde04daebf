// npm run bench:recalc [-- --credits 1000000 --payments-per-credit 10 --chunk-size 10000 --parallelism 4 --reuse --read-floor
//                          --scope INCREMENTAL --changed-percent 2 --database abono_bench_recalc --compiled-worker --pairs 3]
// Loads a portfolio (COPY; --reuse keeps one loaded earlier), runs a FULL DRY_RUN recalculation
// through the real workflow and worker, and compares with a plain SQL aggregate over the same data.
// --read-floor also times PostgreSQL alone producing every chunk's texts (what the check must read).
// --scope INCREMENTAL then marks --changed-percent of the credits changed (as the day's payments would) and
// runs the INCREMENTAL night after the FULL one, in the same run. --compiled-worker runs the worker from dist/
// (`npm run build` first) in a process of its own, as production does. --pairs N (with --read-floor) then times
// N−1 more FULL runs, each followed by its read floor, and prints every pair's ratio and their median: on a shared
// machine the floor alone moves by a fifth between minutes, so one pair's ratio is one sample of a spread.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { createDataSource, runMigrations } from '../src/db/data-source';
import { recalculationWorkflow } from '../src/workflows';
import { seedPortfolio } from '../tools/seed';
import { randomUUID } from 'node:crypto';
import { cpuSecondsOf, freePort, histogramSums, median, postgresCpuSeconds, resetPeakRss, rssMb, spawnAbonoProcess, startBenchStack, stopProcess, runBenchmark } from './stack';
import { FIRST_ID, planChunks } from '../src/db/recalculation-chunks';
import { recalculationChunkSeconds } from '../src/observability/metrics';
import { chunkStatement, STATEMENT_CREDITS } from '../src/db/credit-chunks';
import { NO_JIT_LOCAL } from '../src/db/chunk-check';
import { DataSource } from 'typeorm';
import type { RecalculationScope } from '../src/domain';
import type { RecalculationInput } from '../src/workflows/types';
import { recordStart } from '../src/db/recorded-starts';

/** Busy and total CPU time of the whole machine so far (Linux /proc/stat, in clock ticks), or undefined. */
function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/**
 * PostgreSQL alone producing the texts of every chunk, by the statements the check reads them with (STATEMENT_CREDITS
 * credits each), on as many connections as the batch has check threads, with nothing sent back but a sum of their
 * lengths (which makes it build them all) and nothing checked: the least the check's reading can take on this database.
 */
async function readFloorMs(ds: DataSource, credits: number, chunkSize: number, connections: number): Promise<number> {
  const statementCredits = Math.min(chunkSize, STATEMENT_CREDITS);
  const bounds = await planChunks(ds, FIRST_ID, statementCredits, Math.ceil(credits / statementCredits) + 1);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: connections }, () =>
      ds.transaction(async (m) => {
        await m.query(NO_JIT_LOCAL);
        while (next < bounds.length) {
          const i = next++;
          const { text, values } = chunkStatement({ lo: i === 0 ? FIRST_ID : bounds[i - 1], hi: bounds[i] });
          await m.query(`SELECT sum(length(t.schedule) + coalesce(length(t.ledger), 0) + coalesce(length(t.allocations), 0)) FROM (${text}) t`, values);
        }
      }),
    ),
  );
  return performance.now() - t0;
}

async function main() {
  const { values } = parseArgs({
    options: {
      credits: { type: 'string', default: '1000000' },
      'payments-per-credit': { type: 'string', default: '10' },
      // Credits per chunk (one activity each): RECALC_CHUNK_SIZE's default unless given.
      'chunk-size': { type: 'string' },
      parallelism: { type: 'string', default: '4' },
      reuse: { type: 'boolean', default: false },
      'read-floor': { type: 'boolean', default: false },
      scope: { type: 'string', default: 'FULL' },
      'changed-percent': { type: 'string', default: '2' },
      database: { type: 'string', default: 'abono_bench_recalc' },
      'compiled-worker': { type: 'boolean', default: false },
      pairs: { type: 'string', default: '1' },
    },
  });
  const credits = Number(values.credits);
  const perCredit = Number(values['payments-per-credit']);
  let seeded: { ms: number; payments: number } | undefined;

  if (!['FULL', 'INCREMENTAL'].includes(values.scope!)) throw new Error('--scope is FULL or INCREMENTAL');
  const pairs = Number(values.pairs);
  if (!Number.isSafeInteger(pairs) || pairs < 1) throw new Error('--pairs is a positive integer');
  if (pairs > 1 && !values['read-floor']) throw new Error('--pairs needs --read-floor (a pair is a FULL run and its floor)');
  const db = values.database!;
  // --compiled-worker: the batch worker as production runs it (`npm run build` first), in a process of its own on
  // a task queue of its own; without it, the worker runs in this process from the sources (under tsx).
  const compiled = values['compiled-worker'];
  const taskQueue = `bench-recalc-${randomUUID()}`;
  const stack = await startBenchStack(db, { DATABASE_POOL_SIZE: '20', ...(compiled && { RUN_WORKER: 'false', TEMPORAL_TASK_QUEUE: taskQueue }) }, {
    reuse: values.reuse,
    before: async (url) => {
      const ds = createDataSource(url, 4);
      await ds.initialize();
      await runMigrations(ds);
      const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM credits`);
      if (n !== credits) {
        if (n > 0) throw new Error(`${db} has ${n} credits, not ${credits}: run without --reuse`);
        process.stderr.write(`loading ${credits} credits × ${perCredit} payments...\n`);
        const r = await seedPortfolio(ds, { credits, paymentsPerCredit: perCredit, log: (m) => process.stderr.write(`  ${m}\n`) });
        seeded = { ms: r.ms, payments: r.payments };
        // On its own connection without the pool's statement timeout: at 1 M credits it takes minutes.
        const qr = ds.createQueryRunner();
        await qr.query('SET statement_timeout = 0');
        await qr.query('VACUUM ANALYZE');
        await qr.release();
      }
      await ds.destroy();
    },
  });
  const chunkSize = values['chunk-size'] ? Number(values['chunk-size']) : stack.config.recalculation.chunkSize;
  const metricsPort = await freePort();
  const worker = compiled
    ? await spawnAbonoProcess(
        'dist/src/worker/main.js',
        { DATABASE_URL: stack.databaseUrl, TEMPORAL_ADDRESS: stack.temporalAddress, TEMPORAL_TASK_QUEUE: taskQueue, DATABASE_POOL_SIZE: '20', RECALC_SCHEDULE_ENABLED: 'false', METRICS_PORT: String(metricsPort) },
        '"worker running"',
      )
    : undefined;
  // The worker's CPU seconds so far: its own process's, or this one's.
  const workerCpuSeconds = () => {
    if (worker) return cpuSecondsOf(worker.pid!);
    const own = process.cpuUsage();
    return (own.user + own.system) / 1e6;
  };
  try {
    const ds = stack.abono.ds;
    const [{ payments }] = await ds.query(`SELECT count(*)::int AS payments FROM payments WHERE status = 'APPLIED'`);

    // What autovacuum would have done between nights (it may be off, as on the machine these figures come from):
    // every FULL run rewrites each credit's verification, and a reused book would carry the last runs' dead rows.
    const vacuum = async () => {
      const qr = ds.createQueryRunner();
      await qr.query('SET statement_timeout = 0');
      await qr.query('VACUUM ANALYZE credit_verifications, credit_changes, recalculation_scope');
      await qr.release();
    };
    await vacuum();

    // The reference: the database's own aggregate over the same ledger.
    const a0 = performance.now();
    await ds.query(`SELECT count(*), sum(s) FROM (SELECT credit_id, sum(amount) AS s FROM payments WHERE status = 'APPLIED' GROUP BY credit_id) t`);
    const aggregateMs = performance.now() - a0;

    const rss0 = process.memoryUsage().rss;
    let peakRss = rss0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
    if (worker) resetPeakRss(worker.pid!);
    const cpu0 = workerCpuSeconds();
    const machine0 = machineCpu();
    const pg0 = postgresCpuSeconds();
    const t0 = performance.now();
    const batch = async (scope: RecalculationScope) => {
      const workflowId = `recalculation-bench-${scope.toLowerCase()}-${Date.now()}`;
      const input: RecalculationInput = { mode: 'DRY_RUN', scope, chunkSize, parallelism: Number(values.parallelism), startedBy: 'bench' };
      // A batch runs only a start recorded first (as the API records it).
      await recordStart(ds, workflowId, 'recalculation', input);
      return stack.abono.client.workflow.execute(recalculationWorkflow, {
        workflowId,
        taskQueue: stack.config.temporal.batchTaskQueue,
        args: [input],
      });
    };
    const result = await batch('FULL');
    const wallMs = performance.now() - t0;
    if (result.scanned !== credits) throw new Error(`the FULL batch scanned ${result.scanned} of ${credits} credits (status ${result.status})`);
    const cpuSeconds = workerCpuSeconds() - cpu0;
    const machine1 = machineCpu();
    const pg1 = postgresCpuSeconds();
    clearInterval(sampler);
    // The first FULL run's chunks alone (the worker's histogram sums every batch it runs).
    const phases = await chunkPhaseSeconds(worker ? metricsPort : undefined);
    const incremental = values.scope === 'INCREMENTAL' ? await incrementalNight(ds, Number(values['changed-percent']), () => batch('INCREMENTAL'), wallMs) : undefined;
    const readFloor = () => readFloorMs(ds, result.scanned, chunkSize, Math.max(1, stack.config.recalculation.threads));
    const floorPg0 = postgresCpuSeconds();
    const floorMs = values['read-floor'] ? await readFloor() : undefined;
    const floorPg1 = postgresCpuSeconds();
    const secondsBetween = (a: number | null, b: number | null) => (a === null || b === null ? null : Math.round((b - a) * 10) / 10);
    const tenths = (ms: number) => Math.round(ms / 100) / 10;
    // The further pairs: each FULL run (after the same vacuum) and at once its floor.
    const timedPairs = floorMs === undefined ? [] : [{ fullMs: wallMs, floorMs }];
    for (let i = 1; i < pairs; i++) {
      await vacuum();
      const f0 = performance.now();
      const again = await batch('FULL');
      const fullMs = performance.now() - f0;
      if (again.scanned !== credits || again.inconsistent !== 0) throw new Error(`pair ${i + 1}: the FULL batch scanned ${again.scanned} of ${credits}, ${again.inconsistent} inconsistent`);
      timedPairs.push({ fullMs, floorMs: await readFloor() });
    }
    const ratios = timedPairs.map((p) => p.fullMs / p.floorMs);

    console.log(
      JSON.stringify(
        {
          benchmark: 'recalculation-dry-run',
          scope: 'FULL (wallSeconds), then INCREMENTAL when asked (incremental)',
          credits: result.scanned,
          payments,
          seeded: seeded ?? 'reused',
          chunkSize,
          parallelism: Number(values.parallelism),
          wallSeconds: Math.round(wallMs / 100) / 10,
          creditsPerSecond: Math.round(result.scanned / (wallMs / 1000)),
          paymentsPerSecond: Math.round(payments / (wallMs / 1000)),
          inconsistent: result.inconsistent,
          errors: result.errors,
          workerCompiled: compiled,
          workerPeakRssMB: worker ? rssMb(worker.pid!, 'VmHWM') : Math.round(peakRss / 1048576),
          sqlAggregateSeconds: Math.round(aggregateMs / 100) / 10,
          ratioToAggregate: Math.round((wallMs / aggregateMs) * 10) / 10,
          checkThreads: stack.config.recalculation.threads,
          ...(floorMs !== undefined && {
            readFloor: { seconds: Math.round(floorMs / 100) / 10, postgresCpuSeconds: secondsBetween(floorPg0, floorPg1), ratioToAggregate: Math.round((floorMs / aggregateMs) * 10) / 10, fullRatioToReadFloor: Math.round((wallMs / floorMs) * 10) / 10 },
          }),
          ...(timedPairs.length > 1 && {
            pairs: {
              fullSeconds: timedPairs.map((p) => tenths(p.fullMs)),
              readFloorSeconds: timedPairs.map((p) => tenths(p.floorMs)),
              fullRatioToReadFloor: timedPairs.map((p) => Math.round((p.fullMs / p.floorMs) * 100) / 100),
              medianFullSeconds: tenths(median(timedPairs.map((p) => p.fullMs))),
              medianFullRatioToReadFloor: Math.round(median(ratios) * 100) / 100,
            },
          }),
          ...(incremental && { incremental }),
          // CPU seconds used during the FULL run: this process (worker, check threads, API), PostgreSQL (every
          // process of it on this machine), and the whole machine (adds the Temporal dev server and anything else
          // running) out of cores × wall.
          cpuSeconds: {
            workerProcess: Math.round(cpuSeconds * 10) / 10,
            postgres: secondsBetween(pg0, pg1),
            machineBusy: machine0 && machine1 ? Math.round(((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * availableParallelism() * (wallMs / 1000) * 10) / 10 : null,
            machineAvailable: Math.round(availableParallelism() * (wallMs / 1000) * 10) / 10,
          },
          // Summed over the first FULL run's chunks (they overlap): reading and checking a chunk on a thread (including the
          // wait for a free one), recording its result.
          chunkPhasesSeconds: phases,
          note: 'the API in this process, the worker too unless compiled; the aggregate is SELECT credit_id, sum(amount) FROM payments GROUP BY credit_id over the same rows',
        },
        null,
        2,
      ),
    );
  } finally {
    if (worker) await stopProcess(worker);
    await stack.stop();
  }
}

runBenchmark(main);

/** Chunk-seconds in each phase of the recalculation's chunks (the worker's own histogram: this process's, or a spawned worker's metrics), to 0.1 s. */
async function chunkPhaseSeconds(metricsPort: number | undefined): Promise<{ readAndCheck: number; record: number }> {
  const sums: Record<string, number> = {};
  if (metricsPort !== undefined) Object.assign(sums, await histogramSums(metricsPort, 'abono_recalculation_chunk_seconds', 'phase'));
  else for (const v of (await recalculationChunkSeconds.get()).values) if (v.metricName === 'abono_recalculation_chunk_seconds_sum') sums[String(v.labels.phase)] = v.value;
  const tenth = (x = 0) => Math.round(x * 10) / 10;
  return { readAndCheck: tenth(sums.check), record: tenth(sums.record) };
}

/**
 * The INCREMENTAL night after a FULL one: `percent` of the credits marked changed (as the day's payments would
 * mark them, through the same table), then the batch; its time against the FULL run's.
 */
async function incrementalNight(ds: DataSource, percent: number, run: () => Promise<{ scanned: number; inconsistent: number }>, fullMs: number) {
  await ds.query(
    `INSERT INTO credit_changes (credit_id, change_seq) SELECT id, nextval('credit_change_seq') FROM credits TABLESAMPLE BERNOULLI ($1) ON CONFLICT DO NOTHING`,
    [percent],
  );
  const [{ marked }] = await ds.query(`SELECT count(*)::int AS marked FROM credit_changes`);
  const t0 = performance.now();
  const r = await run();
  const ms = performance.now() - t0;
  return { markedChanged: marked, scanned: r.scanned, inconsistent: r.inconsistent, wallSeconds: Math.round(ms / 100) / 10, ratioToFull: Math.round((ms / fullMs) * 1000) / 1000 };
}
