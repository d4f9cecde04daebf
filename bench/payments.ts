// npm run bench:payments -- --credits K --payments M --concurrency C      (closed loop)
// npm run bench:payments -- --credits K --rate R --seconds S              (open loop)
// add --cluster [--api 2 --workers 2] for npm run cluster's topology instead of the dev server
//
// The full durable path (HTTP → update-with-start → workflow → local activities → PostgreSQL),
// measured beside the engine's floor (empty workflows by update-with-start on the same Temporal,
// same concurrency or arrival rate: bench/floor) and two references on the same machine in
// the same run: (a) the same payments
// applied by the same database steps in plain transactions, no Temporal and no HTTP; (b) the
// database's own limit for a single-row UPDATE transaction (pgbench, or a Node loop without it).
import { spawnSync } from 'node:child_process';
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
import { startClusterEngine, startDevServerEngine } from './engines';
import { drive, latency, type Load, measureFloor } from './floor/run';
import { amountFor, creditFor, makeCredits, payPlain } from './plain-payments';
import { cpuMsPer, cpuSnapshot, pidsMatching, runBenchmark } from './stack';

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
      env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password) },
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
      workers: { type: 'string' },
      // npm run cluster's topology instead of the dev server: Temporal's own server on PostgreSQL
      cluster: { type: 'boolean', default: false },
      api: { type: 'string', default: '2' },
    },
  });
  const k = Number(values.credits);
  const c = Number(values.concurrency);
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  const m = rate ? Math.round(rate * Number(values.seconds)) : Number(values.payments);
  const load = rate ? { ratePerSecond: rate, count: m } : { concurrency: c, count: m };

  // The servers run in child processes, as in production; this process generates load (and runs the floor's worker).
  const engine = values.cluster
    ? await startClusterEngine(Number(values.api), Number(values.workers ?? '2'))
    : await startDevServerEngine(values.processes === 'single' ? 'single' : 'split', Number(values.workers ?? '1'));
  const ds = createDataSource(engine.databaseUrl, 70);
  try {
    await ds.initialize();
    await runMigrations(ds);
    const operatorKey = (await createApiKey(ds, 'bench-operator', 'operator')).key;
    // First the engine's own ceiling: empty workflows by update-with-start, same load.
    const floor = await measureFloor(engine.temporalAddress, load, engine.cpuGroups);

    const credits = await makeCredits(ds, k);
    const today = todayIn('UTC');
    const keys: string[] = new Array(m);
    const statusOf: number[] = new Array(m).fill(0);
    const post = async (i: number, record = true): Promise<boolean> => {
      const key = randomUUID();
      // Clients alternate between the APIs, as behind a load balancer.
      const res = await fetch(`${engine.apiUrls[i % engine.apiUrls.length]}/v1/payments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${operatorKey}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ creditId: creditFor(i, credits), amount: amountFor(i), paymentDate: today }),
      });
      await res.arrayBuffer();
      if (record) {
        keys[i] = key;
        statusOf[i] = res.status;
      }
      return res.status === 201;
    };
    await drive({ concurrency: 16, count: 200 }, (i) => post(i, false)); // warm-up: connections, caches, JIT

    const cpu0 = cpuSnapshot(engine.cpuGroups);
    const t0 = performance.now();
    const { samples } = await drive(load, (i) => post(i));
    const statuses: Record<string, number> = {};
    for (const status of statusOf) statuses[status] = (statuses[status] ?? 0) + 1;
    const ids = keys.filter((key, i) => statusOf[i] === 201 || statusOf[i] === 202).map(paymentIdForKey);
    await waitTerminal(ds, ids);
    const fullSeconds = (performance.now() - t0) / 1000;
    const fullCpu = cpuMsPer(cpu0, cpuSnapshot(engine.cpuGroups), m);
    const consistency = await findInconsistentCredits(ds, { creditIds: credits });

    // The servers are stopped first: their pools would crowd the references' connections.
    await engine.stopAbono();
    const plain = await plainTransactions(ds, k, load, c);
    await ds.destroy();
    const db = await databaseLimit(engine.databaseUrl, c, Math.max(k, 1000));

    const fullRate = m / fullSeconds;
    const fullLatency = latency(samples);
    console.log(
      JSON.stringify(
        {
          benchmark: 'payments',
          engine: engine.name,
          mode: rate ? { openLoop: true, ratePerSecond: rate, seconds: Number(values.seconds) } : { openLoop: false, concurrency: c },
          credits: k,
          payments: m,
          floor,
          fullPath: {
            paymentsPerSecond: Math.round(fullRate),
            latencyMsPostTo201: fullLatency,
            answered202: statuses['202'] ?? 0,
            errors: m - (statuses['201'] ?? 0) - (statuses['202'] ?? 0),
            statuses,
          },
          cpuMsPerPayment: fullCpu,
          consistency: { creditsChecked: consistency.scanned, inconsistent: consistency.inconsistent.length },
          plainTransactions: plain,
          databaseSingleRowUpdate: db,
          ratios: {
            fullToFloor: Math.round((fullRate / floor.workflowsPerSecond) * 100) / 100,
            p99FullToFloor: Math.round((fullLatency.p99 / floor.latencyMs.p99) * 100) / 100,
            fullToPlain: Math.round((fullRate / plain.paymentsPerSecond) * 100) / 100,
            fullToDatabaseLimit: Math.round((fullRate / db.transactionsPerSecond) * 1000) / 1000,
          },
        },
        null,
        2,
      ),
    );
  } finally {
    if (ds.isInitialized) await ds.destroy();
    await engine.stop();
  }
}

/** (a) The same payments through the same database steps, in plain transactions. */
async function plainTransactions(ds: DataSource, k: number, load: Load, concurrency: number) {
  const plainCredits = await makeCredits(ds, k);
  const steps = createPaymentActivities({ ds, timeZone: 'UTC' });
  const dbName = new URL(String((ds.options as { url?: string }).url)).pathname.slice(1);
  const groups = { postgres: () => pidsMatching((cmd) => cmd.startsWith('postgres: ') && cmd.includes(` ${dbName} `)), node: () => [process.pid] };
  const cpu0 = cpuSnapshot(groups);
  const today = todayIn('UTC');
  const { seconds } = await drive({ concurrency, count: load.count }, async (i) => {
    await payPlain(ds, steps, creditFor(i, plainCredits), amountFor(i), today);
    return true;
  });
  return { paymentsPerSecond: Math.round(load.count / seconds), cpuMsPerPayment: cpuMsPer(cpu0, cpuSnapshot(groups), load.count) };
}

runBenchmark(main);
