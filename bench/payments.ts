// npm run bench:payments -- --credits K --payments M --concurrency C      (closed loop)
// npm run bench:payments -- --credits K --rate R --seconds S              (open loop)
//
// The full durable path (HTTP → update-with-start → workflow → local activities → PostgreSQL),
// measured beside two references on the same machine in the same run: (a) the same payments
// applied by the same database steps in plain transactions, no Temporal and no HTTP; (b) the
// database's own limit for a single-row UPDATE transaction (pgbench, or a Node loop without it).
import { ChildProcess, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { createPaymentActivities } from '../src/activities/payment-activities';
import { todayIn } from '../src/domain';
import { findInconsistentCredits } from '../test/support/consistency';
import { paymentIdForKey } from '../src/client/payments';
import { createDataSource, runMigrations } from '../src/db/data-source';
import { createApiKey } from '../src/db/api-keys';
import { startDevServer } from '../src/temporal/dev-server';
import { amountFor, creditFor, makeCredits, payPlain, pool } from './plain-payments';
import { cpuMsPer, cpuSnapshot, freshBenchDatabase, percentile, pidsMatching, spawnAbonoProcess, stopProcess, runBenchmark } from './stack';

interface Sample {
  ms: number;
  status: number;
}

function latencyStats(samples: Sample[]) {
  const ok = samples.filter((s) => s.status === 201).map((s) => s.ms).sort((a, b) => a - b);
  return { p50: percentile(ok, 50), p95: percentile(ok, 95), p99: percentile(ok, 99), max: percentile(ok, 100) };
}

async function waitTerminal(ds: DataSource, ids: string[]) {
  for (;;) {
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM payments WHERE id = ANY($1::uuid[]) AND status IN ('APPLIED','REJECTED','FAILED','REVERSED')`, [ids]);
    if (n === ids.length) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** (b) The database's limit: single-row UPDATE transactions with C clients for a few seconds. */
async function databaseLimit(databaseUrl: string, concurrency: number, rows: number) {
  const admin = new Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`DROP TABLE IF EXISTS bench_rows; CREATE TABLE bench_rows (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0); INSERT INTO bench_rows SELECT g FROM generate_series(1, ${rows}) g`);
  await admin.end();
  const url = new URL(databaseUrl);
  const pgbench = spawnSync('which', ['pgbench']).status === 0;
  if (pgbench) {
    const script = path.join(os.tmpdir(), `abono-pgbench-${process.pid}.sql`);
    fs.writeFileSync(script, `\\set id random(1, ${rows})\nUPDATE bench_rows SET n = n + 1 WHERE id = :id;\n`);
    const r = spawnSync('pgbench', ['-n', '-c', String(concurrency), '-j', '2', '-T', '10', '-f', script, '-h', url.hostname, '-p', url.port || '5432', '-U', url.username || 'postgres', url.pathname.slice(1)], {
      encoding: 'utf8',
    });
    fs.rmSync(script, { force: true });
    const tps = /tps = ([\d.]+)/.exec(r.stdout)?.[1];
    if (tps) return { tool: 'pgbench', seconds: 10, transactionsPerSecond: Math.round(Number(tps)) };
  }
  // Without pgbench: the same loop from Node.
  const clients = await Promise.all(Array.from({ length: concurrency }, async () => {
    const c = new Client({ connectionString: databaseUrl });
    await c.connect();
    return c;
  }));
  let count = 0;
  const until = Date.now() + 10_000;
  await Promise.all(clients.map(async (c) => {
    while (Date.now() < until) {
      await c.query('UPDATE bench_rows SET n = n + 1 WHERE id = $1', [1 + Math.floor(Math.random() * rows)]);
      count++;
    }
    await c.end();
  }));
  return { tool: 'node-loop', seconds: 10, transactionsPerSecond: Math.round(count / 10) };
}

async function main() {
  const { values } = parseArgs({
    options: {
      credits: { type: 'string', default: '200' },
      payments: { type: 'string', default: '5000' },
      concurrency: { type: 'string', default: '64' },
      rate: { type: 'string' },
      seconds: { type: 'string', default: '30' },
      // split: the API and the worker in their own processes; single: both in one (npm start's layout)
      processes: { type: 'string', default: 'split' },
      workers: { type: 'string', default: '1' },
    },
  });
  const k = Number(values.credits);
  const c = Number(values.concurrency);
  const openLoop = values.rate !== undefined;
  const rate = Number(values.rate ?? 0);
  const m = openLoop ? Math.round(rate * Number(values.seconds)) : Number(values.payments);

  // The server runs in child processes, as in production; this process only generates load.
  const databaseUrl = await freshBenchDatabase('abono_bench_payments');
  const ds = createDataSource(databaseUrl, 70);
  await ds.initialize();
  await runMigrations(ds);
  const operatorKey = (await createApiKey(ds, 'bench-operator', 'operator')).key;
  let temporalAddress = process.env.TEMPORAL_ADDRESS;
  let stopTemporal: (() => Promise<void>) | undefined;
  let temporalDb: string | undefined;
  if (!temporalAddress) {
    // A SQLite file in WAL mode, as `npm start` runs it: measured 21 payments/s against 15 with the
    // in-memory database, whose shared cache serialises the server's writes.
    temporalDb = path.join(os.tmpdir(), `abono-bench-temporal-${process.pid}.sqlite`);
    const dev = await startDevServer({ cliPath: process.env.TEMPORAL_CLI_PATH || undefined, namespace: 'default', dbFilename: temporalDb, log: (msg) => process.stderr.write(`${msg}\n`) });
    temporalAddress = dev.address;
    stopTemporal = dev.stop;
  }
  const port = String(3900 + (process.pid % 1000));
  const serverEnv = {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_TASK_QUEUE: `bench-${process.pid}`,
    PORT: port,
    LOG_LEVEL: 'info',
    RATE_LIMIT_PER_MINUTE: '0',
    PAYMENT_WAIT_MS: '10000',
    RECALC_SCHEDULE_ENABLED: 'false',
    DATABASE_POOL_SIZE: process.env.DATABASE_POOL_SIZE ?? '20',
  };
  const children: ChildProcess[] = [];
  if (values.processes === 'single') {
    children.push(await spawnAbonoProcess('src/main.ts', serverEnv, 'abono is running'));
  } else {
    for (let i = 0; i < Number(values.workers); i++) children.push(await spawnAbonoProcess('src/worker/main.ts', { ...serverEnv, RUN_API: 'false' }, '"worker running"'));
    children.push(await spawnAbonoProcess('src/api/main.ts', serverEnv, '"api listening"'));
  }
  const stack = { url: `http://127.0.0.1:${port}`, keys: { operator: operatorKey } };
  try {
    const credits = await makeCredits(ds, k);
    const today = todayIn('UTC');
    const post = async (i: number): Promise<Sample & { key: string }> => {
      const key = randomUUID();
      const t0 = performance.now();
      try {
        const res = await fetch(`${stack.url}/v1/payments`, {
          method: 'POST',
          headers: { authorization: `Bearer ${stack.keys.operator}`, 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify({ creditId: creditFor(i, credits), amount: amountFor(i), paymentDate: today }),
        });
        await res.arrayBuffer();
        return { ms: performance.now() - t0, status: res.status, key };
      } catch {
        return { ms: performance.now() - t0, status: 0, key };
      }
    };
    // Warm-up: connections, caches, JIT.
    await pool(200, 16, post);

    // CPU per payment by process: where the two cores go. PostgreSQL counts only this database's backends.
    const dbName = new URL(databaseUrl).pathname.slice(1);
    const temporalPort = temporalAddress.split(':').pop();
    const cpuGroups = {
      api: () => children.slice(-1).map((ch) => ch.pid!),
      worker: () => (values.processes === 'single' ? [] : children.slice(0, -1).map((ch) => ch.pid!)),
      temporal: () => pidsMatching((cmd) => cmd.includes('start-dev') && cmd.includes(`--port ${temporalPort} `)),
      postgres: () => pidsMatching((cmd) => cmd.startsWith('postgres: ') && cmd.includes(` ${dbName} `)),
      loadGenerator: () => [process.pid],
    };
    const cpu0 = cpuSnapshot(cpuGroups);
    const t0 = performance.now();
    let samples: Array<Sample & { key: string }>;
    if (openLoop) {
      // Arrivals at a fixed rate whatever the answers: queueing shows in the latency.
      const started: Array<Promise<Sample & { key: string }>> = [];
      for (let i = 0; i < m; i++) {
        const due = t0 + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        started.push(post(i));
      }
      samples = await Promise.all(started);
    } else {
      samples = await pool(m, c, post);
    }
    const ids = samples.filter((s) => s.status === 201 || s.status === 202).map((s) => paymentIdForKey(s.key));
    await waitTerminal(ds, ids);
    const fullSeconds = (performance.now() - t0) / 1000;
    const fullCpu = cpuMsPer(cpu0, cpuSnapshot(cpuGroups), m);
    const consistency = await findInconsistentCredits(ds, { creditIds: credits });

    // The server is stopped first: PostgreSQL allows 100 connections here.
    await Promise.all(children.map(stopProcess));

    // (a) The same payments through the same database steps, in plain transactions.
    const plainCredits = await makeCredits(ds, k);
    const steps = createPaymentActivities({ ds, timeZone: 'UTC' });
    const plainGroups = { postgres: cpuGroups.postgres, node: cpuGroups.loadGenerator };
    const plainCpu0 = cpuSnapshot(plainGroups);
    const p0 = performance.now();
    await pool(m, c, (i) => payPlain(steps, creditFor(i, plainCredits), amountFor(i), today));
    const plainSeconds = (performance.now() - p0) / 1000;
    const plainCpu = cpuMsPer(plainCpu0, cpuSnapshot(plainGroups), m);

    await ds.destroy();
    const db = await databaseLimit(databaseUrl, c, Math.max(k, 1000));

    const statuses: Record<string, number> = {};
    for (const s of samples) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
    const fullRate = m / fullSeconds;
    const plainRate = m / plainSeconds;
    console.log(
      JSON.stringify(
        {
          benchmark: 'payments',
          mode: openLoop ? { openLoop: true, ratePerSecond: rate, seconds: Number(values.seconds) } : { openLoop: false, concurrency: c },
          processes: values.processes === 'single' ? 'api+worker in one process' : `api process + ${values.workers} worker process(es)`,
          credits: k,
          payments: m,
          fullPath: {
            paymentsPerSecond: Math.round(fullRate),
            latencyMsPostTo201: latencyStats(samples),
            answered202: statuses['202'] ?? 0,
            errors: samples.filter((s) => ![201, 202].includes(s.status)).length,
            statuses,
          },
          cpuMsPerPayment: fullCpu,
          consistency: { creditsChecked: consistency.scanned, inconsistent: consistency.inconsistent.length },
          plainTransactions: { paymentsPerSecond: Math.round(plainRate), cpuMsPerPayment: plainCpu },
          databaseSingleRowUpdate: db,
          ratios: {
            fullToPlain: Math.round((fullRate / plainRate) * 100) / 100,
            fullToDatabaseLimit: Math.round((fullRate / db.transactionsPerSecond) * 1000) / 1000,
          },
        },
        null,
        2,
      ),
    );
  } finally {
    await Promise.all(children.map(stopProcess));
    if (ds.isInitialized) await ds.destroy();
    await stopTemporal?.();
    for (const suffix of ['', '-wal', '-shm']) if (temporalDb) fs.rmSync(temporalDb + suffix, { force: true });
  }
}

runBenchmark(main);
