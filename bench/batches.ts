// npm run bench:batches -- --lines 100000 --credits 10000 [--plain-lines 10000] [--floor-runs 3]
//
// A payment file end to end: a generated file (some credits with many lines, about 2% refused by rule) uploaded
// over HTTP to a stack whose worker runs in its own process, waited for, then every credit checked against its
// recomputation and the audit chains verified. In the same run and on the same kind of data: the plain path (one
// payment per transaction, the single payment's own database steps) and a floor, PostgreSQL loading the rows the
// file produced (payments, allocations, audit entries, credit updates) by COPY with nothing computed; then the same
// load with the real tables' foreign keys and audit chain trigger (`schemaCopyFloor`, beside the target's floor), and
// every row the file records, its lines, keys and outcomes too, under those constraints (`everyRowCopyFloor`).
// The target's floor is loaded --floor-runs times and its median taken: on a shared machine one load of the same rows
// took anywhere from 4.4 to 6.4 s within one hour, which moved the file's ratio to it more than any change did.
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { DataSource } from 'typeorm';
import { createPaymentActivities } from '../src/activities/payment-activities';
import { createCredit } from '../src/db/credits';
import { createDataSource } from '../src/db/data-source';
import { verifyAuditChain } from '../src/db/audit-chain';
import { paymentBatchWorkflowId } from '../src/workflows/types';
import { paymentBatchProgress } from '../src/workflows/payment-batch';
import { findInconsistentCredits } from '../test/support/consistency';
import { payPlain } from './plain-payments';
import { freePort, histogramSums, median, resetPeakRss, rssMb, runBenchmark, spawnAbonoProcess, startBenchStack, stopProcess } from './stack';
import { tableCopyFloor } from './table-floor';

const { values } = parseArgs({
  options: { lines: { type: 'string', default: '100000' }, credits: { type: 'string', default: '10000' }, 'plain-lines': { type: 'string', default: '10000' }, 'compiled-worker': { type: 'boolean', default: false }, 'floor-runs': { type: 'string', default: '3' } },
});
const LINES = Number(values.lines);
const CREDITS = Number(values.credits);
const PLAIN_LINES = Number(values['plain-lines']);
const FLOOR_RUNS = Number(values['floor-runs']);
if (!Number.isSafeInteger(FLOOR_RUNS) || FLOOR_RUNS < 1) throw new Error('--floor-runs is a positive integer');

async function pool(n: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => { for (let i = next++; i < n; i = next++) await job(i); }));
}

async function makeCredits(ds: DataSource, k: number): Promise<string[]> {
  const ids: string[] = new Array(k);
  await pool(k, 8, async (i) => {
    ids[i] = await createCredit(ds, { clientId: `bench-${i}`, principal: '5000.00', interestRate: '0.01', installments: 24, startDate: '2026-01-01' }, 'bench');
  });
  return ids;
}

/** Line i: half the lines on a tenth of the credits; every 50th line far over any balance (refused). */
function line(i: number, credits: string[]) {
  const hot = Math.max(1, Math.floor(credits.length / 10));
  const creditId = i % 2 === 0 ? credits[(i >> 1) % hot] : credits[(i * 7919) % credits.length];
  const amount = i % 50 === 7 ? '99999.00' : `${(i % 9) + 1}.${String((i * 37) % 100).padStart(2, '0')}`;
  return { creditId, amount, paymentDate: '2026-02-01', reference: `bench-${i}` };
}

/** The worker's memory now, in MB: resident (the OS's figure), V8's heap used and reserved, and memory outside V8. */
async function workerMemory(pid: number, metricsPort: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const mb = (name: string) => {
    const m = new RegExp(`^${name} (\\S+)`, 'm').exec(text);
    return m ? Math.round(Number(m[1]) / 1024 / 1024) : NaN;
  };
  return { rss: rssMb(pid, 'VmRSS'), heapUsed: mb('nodejs_heap_size_used_bytes'), heapTotal: mb('nodejs_heap_size_total_bytes'), external: mb('nodejs_external_memory_bytes') };
}

/** The worker's chunk-seconds per step of the file's chunks (summed over chunks, which overlap), from its metrics. */
async function chunkStepSeconds(metricsPort: number): Promise<Record<string, number>> {
  const sums = await histogramSums(metricsPort, 'abono_payment_file_chunk_seconds', 'step');
  return Object.fromEntries(Object.entries(sums).map(([step, s]) => [step, round(s)]));
}

/**
 * The floor: the rows the file produced (payments, allocations, audit entries, and its credits' state updates) loaded
 * back by COPY into copies of their tables; `bare` (the floor) or with the real tables' constraints (`schema`).
 * `everyRow` adds the rows a file records beyond the ledger's, each one the issue asks for: its stored lines (COPYed
 * before anything applies), each line's idempotency key (the key space single payments share) and each line's
 * outcome; with the constraints, that is what PostgreSQL does for everything the file durably records, on one
 * connection, with nothing read, locked or computed.
 */
async function copyFloor(databaseUrl: string, batch: { id: string; workflowId: string }, kind: 'bare' | 'schema', everyRow = false): Promise<{ seconds: number; rows: number }> {
  const ids: string[] = [];
  const ofFile = `SELECT id FROM payments WHERE workflow_id = '${batch.workflowId}'`;
  const floor = await tableCopyFloor(
    databaseUrl,
    [
      ...(everyRow
        ? [
            { table: 'payment_batch_lines', rows: `SELECT * FROM payment_batch_lines WHERE batch_id = '${batch.id}'` },
            { table: 'idempotency_keys', rows: `SELECT * FROM idempotency_keys WHERE payment_id IN (${ofFile})` },
          ]
        : []),
      { table: 'payments', rows: `SELECT * FROM payments WHERE workflow_id = '${batch.workflowId}'` },
      { table: 'payment_allocations', rows: `SELECT * FROM payment_allocations WHERE payment_id IN (${ofFile})` },
      { table: 'audit_log', rows: `SELECT * FROM audit_log WHERE workflow_id = '${batch.workflowId}'` },
      ...(everyRow ? [{ table: 'payment_batch_outcomes', rows: `SELECT * FROM payment_batch_outcomes WHERE batch_id = '${batch.id}'` }] : []),
    ],
    kind,
    {
      setup: async (c, prefix) => {
        await c.query(`DROP TABLE IF EXISTS ${prefix}credits; CREATE TABLE ${prefix}credits AS SELECT * FROM credits; ALTER TABLE ${prefix}credits ADD PRIMARY KEY (id)`);
        ids.push(...(await c.query(`SELECT id FROM credits`)).rows.map((r: { id: string }) => r.id));
      },
      // Each credit's state written once, as the file's chunks write it.
      timed: async (c, prefix) => {
        await c.query(`UPDATE ${prefix}credits f SET total_paid = f.total_paid + 1, balance = f.balance - 1, payment_count = f.payment_count + 1 FROM unnest($1::uuid[]) u(id) WHERE f.id = u.id`, [ids]);
      },
    },
  );
  return { seconds: floor.seconds, rows: floor.rows.payments };
}

async function main() {
  const taskQueue = `bench-${randomUUID()}`;
  const stack = await startBenchStack('abono_bench_batches', { RUN_WORKER: 'false', TEMPORAL_TASK_QUEUE: taskQueue, RATE_LIMIT_PER_MINUTE: '0' });
  const ds = stack.abono.ds;
  // --compiled-worker: the worker as production runs it (`npm run build` first), with the workflow bundle built at
  // build time; from the sources it bundles the workflows at start, and that bundling is its largest peak.
  const metricsPort = await freePort();
  const worker = await spawnAbonoProcess(
    values['compiled-worker'] ? 'dist/src/worker/main.js' : 'src/worker/main.ts',
    { DATABASE_URL: stack.databaseUrl, TEMPORAL_ADDRESS: stack.temporalAddress, TEMPORAL_TASK_QUEUE: taskQueue, RECALC_SCHEDULE_ENABLED: 'false', METRICS_PORT: String(metricsPort) },
    '"worker running"',
  );
  try {
    const c0 = performance.now();
    const credits = await makeCredits(ds, CREDITS);
    const creditsSeconds = (performance.now() - c0) / 1000;
    const rows = Array.from({ length: LINES }, (_, i) => line(i, credits));
    const file = ['creditId,amount,paymentDate,reference', ...rows.map((r) => `${r.creditId},${r.amount},${r.paymentDate},${r.reference}`)].join('\n') + '\n';

    const workerAtStart = { rssMb: rssMb(worker.pid!, 'VmRSS'), peakRssMb: rssMb(worker.pid!, 'VmHWM') };
    resetPeakRss(worker.pid!);
    const t0 = performance.now();
    const res = await fetch(`${stack.url}/v1/payment-batches`, { method: 'POST', headers: { authorization: `Bearer ${stack.keys.operator}`, 'content-type': 'text/csv', 'idempotency-key': randomUUID() }, body: file });
    const accepted = (await res.json()) as { id: string };
    if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${JSON.stringify(accepted)}`);
    const tUpload = performance.now();
    // Followed through its workflow (its result, and its progress query for the memory readings), not by polling
    // GET /v1/payment-batches/:id, whose counts walk every line of the file (a second's work at 1,000,000 lines).
    const handle = stack.abono.client.workflow.getHandle(paymentBatchWorkflowId(accepted.id));
    const finished = handle.result().then(() => true);
    // The worker's memory as the file goes: the first reading past each tenth of the lines (what grows with the file).
    const memoryByTenth: Array<Record<string, number>> = [];
    while (!(await Promise.race([finished, new Promise<false>((r) => setTimeout(() => r(false), 250))]))) {
      const p = await handle.query(paymentBatchProgress).catch(() => undefined);
      const linesDone = p ? p.applied + p.rejected + p.duplicate : 0;
      if (Math.floor((linesDone * 10) / LINES) > memoryByTenth.length) memoryByTenth.push({ linesDone, ...(await workerMemory(worker.pid!, metricsPort)) });
    }
    const tDone = performance.now();
    const batch: any = await (await fetch(`${stack.url}/v1/payment-batches/${accepted.id}`, { headers: { authorization: `Bearer ${stack.keys.operator}` } })).json(); // eslint-disable-line @typescript-eslint/no-explicit-any
    const memoryAtEnd = await workerMemory(worker.pid!, metricsPort);
    const chunkSteps = await chunkStepSeconds(metricsPort);
    const workerPeakRssMb = rssMb(worker.pid!, 'VmHWM');
    // The checks read every credit's ledger and the whole audit log: past the pool's statement timeout at 1M lines.
    const checks = createDataSource(stack.databaseUrl, 2, { statementTimeoutMs: 0 });
    await checks.initialize();
    const consistency = await findInconsistentCredits(checks);
    const chains = await verifyAuditChain(checks);
    await checks.destroy();
    const endToEndSeconds = (tDone - t0) / 1000;

    // The plain path: one payment per transaction through the single payment's own steps, on fresh credits.
    const plainCredits = await makeCredits(ds, Math.max(1, Math.round((CREDITS * PLAIN_LINES) / LINES)));
    const steps = createPaymentActivities({ ds, timeZone: 'UTC' });
    const p0 = performance.now();
    await pool(PLAIN_LINES, 8, async (i) => {
      const l = line(i, plainCredits);
      await payPlain(ds, steps, l.creditId, l.amount, l.paymentDate);
    });
    const plainRate = PLAIN_LINES / ((performance.now() - p0) / 1000);
    const ofBatch = { id: accepted.id, workflowId: batch.workflowId };
    const floorRuns: Array<{ seconds: number; rows: number }> = [];
    for (let i = 0; i < FLOOR_RUNS; i++) floorRuns.push(await copyFloor(stack.databaseUrl, ofBatch, 'bare'));
    const floor = { rows: floorRuns[0].rows, seconds: median(floorRuns.map((r) => r.seconds)) };
    const schemaFloor = await copyFloor(stack.databaseUrl, ofBatch, 'schema');
    const everyRowFloor = await copyFloor(stack.databaseUrl, ofBatch, 'schema', true);
    const fileRate = LINES / endToEndSeconds;
    const floorRate = LINES / floor.seconds;
    console.log(
      JSON.stringify(
        {
          benchmark: 'batches',
          lines: LINES,
          credits: CREDITS,
          status: batch.status,
          counts: batch.counts,
          linesPerSecond: Math.round(fileRate),
          appliedPerSecond: Math.round(batch.counts.APPLIED / endToEndSeconds),
          phasesSeconds: { createCredits: round(creditsSeconds), uploadAndCopy: round((tUpload - t0) / 1000), apply: round((tDone - tUpload) / 1000), endToEnd: round(endToEndSeconds) },
          workerPeakRssMb,
          // Summed over the chunks, which run PAYMENT_FILE_PARALLELISM at a time: where the apply phase goes.
          chunkStepSeconds: chunkSteps,
          worker: { compiled: values['compiled-worker'], atStart: workerAtStart, peakDuringBatchMb: workerPeakRssMb, memoryMbByTenth: memoryByTenth, memoryMbAtEnd: memoryAtEnd },
          consistency: { scanned: consistency.scanned, inconsistent: consistency.inconsistent.length, auditChainsOk: chains.ok ?? chains },
          plain: { lines: PLAIN_LINES, paymentsPerSecond: Math.round(plainRate) },
          // The median of the loads (`secondsEachRun`); the ratios below use it.
          copyFloor: { rows: floor.rows, seconds: round(floor.seconds), secondsEachRun: floorRuns.map((r) => round(r.seconds)), linesPerSecond: Math.round(floorRate) },
          // Not the target's floor: what PostgreSQL must do for these rows in any case (see copyFloor).
          schemaCopyFloor: { rows: schemaFloor.rows, seconds: round(schemaFloor.seconds), linesPerSecond: Math.round(LINES / schemaFloor.seconds) },
          // Nor this: every row the file records (its lines, keys and outcomes too), with the constraints, on one
          // connection as every floor here loads. `copyFloorToEveryRow` is the most of the target's floor that a file
          // path which read, locked and computed nothing would reach writing the same way (a file writes on several).
          everyRowCopyFloor: { seconds: round(everyRowFloor.seconds), linesPerSecond: Math.round(LINES / everyRowFloor.seconds) },
          ratios: {
            fileToPlain: round(fileRate / plainRate),
            fileToCopyFloor: round(fileRate / floorRate),
            fileToSchemaCopyFloor: round(fileRate / (LINES / schemaFloor.seconds)),
            fileToEveryRowCopyFloor: round(fileRate / (LINES / everyRowFloor.seconds)),
            copyFloorToEveryRow: round(floor.seconds / everyRowFloor.seconds),
          },
          targets: { linesPerSecond: 5000, fileToPlain: 7, fileToCopyFloor: 0.3, workerPeakRssMbAt1M: 400 },
        },
        null,
        2,
      ),
    );
  } finally {
    await stopProcess(worker);
    await stack.stop();
  }
}

const round = (x: number) => Math.round(x * 100) / 100;
runBenchmark(main);
