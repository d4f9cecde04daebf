// The two engines bench:payments runs on: the dev server (npm start's engine: the CLI's dev
// server on a WAL SQLite file, abono's API and worker as child processes on the local
// PostgreSQL) or the cluster (npm run cluster's topology: Temporal's own server on a PostgreSQL
// of its own, M APIs and N workers). Each gives where to send payments and which processes'
// CPU to count.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from '../src/cluster/topology';
import { startDevServer } from '../src/temporal/dev-server';
import { freshBenchDatabase, pidsMatching, spawnAbonoProcess, stopProcess } from './stack';

export interface Engine {
  name: string;
  databaseUrl: string;
  temporalAddress: string;
  apiUrls: string[];
  /** Servers first (so their connections go), then everything. */
  stopAbono(): Promise<void>;
  stop(): Promise<void>;
  cpuGroups: Record<string, () => number[]>;
}

/** A process and every process it started (PostgreSQL's backends). */
function withChildren(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  return [pid, ...pidsMatching(() => true).filter((p) => {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
    } catch {
      return false;
    }
  })];
}

const serverEnv = { LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '0', PAYMENT_WAIT_MS: '10000', RECALC_SCHEDULE_ENABLED: 'false' };

export async function startClusterEngine(apiCount: number, workerCount: number): Promise<Engine> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'abono-bench-cluster-'));
  fs.chmodSync(dataDir, 0o755);
  const cluster = await startCluster({
    apiCount,
    workerCount,
    apiBasePort: 3900 + (process.pid % 500) * 2,
    temporalPort: 17000 + (process.pid % 1000) * 10,
    uiPort: false,
    dataDir,
    env: { ...serverEnv, LOG_LEVEL: 'warn', DATABASE_POOL_SIZE: process.env.DATABASE_POOL_SIZE ?? '10' },
    log: (line) => process.stderr.write(`[cluster] ${line}\n`),
  });
  return {
    name: `cluster: Temporal server on PostgreSQL, ${apiCount} API + ${workerCount} worker processes`,
    databaseUrl: cluster.databaseUrl,
    temporalAddress: cluster.temporalAddress,
    apiUrls: cluster.apiUrls,
    stopAbono: async () => void (await Promise.all([...cluster.apis, ...cluster.workers].map((p) => p.kill('SIGTERM')))),
    async stop() {
      await cluster.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
    cpuGroups: {
      api: () => cluster.apis.map((p) => p.pid!).filter(Boolean),
      worker: () => cluster.workers.map((p) => p.pid!).filter(Boolean),
      temporal: () => [cluster.temporal.pid!].filter(Boolean),
      postgres: () => withChildren(cluster.postgres?.pid),
      loadGenerator: () => [process.pid],
    },
  };
}

export async function startDevServerEngine(processes: 'split' | 'single', workerCount: number): Promise<Engine> {
  const databaseUrl = await freshBenchDatabase('abono_bench_payments');
  // A SQLite file in WAL mode, as `npm start` runs it: measured 21 payments/s against 15 with the
  // in-memory database, whose shared cache serialises the server's writes.
  const temporalDb = path.join(os.tmpdir(), `abono-bench-temporal-${process.pid}.sqlite`);
  const dev = await startDevServer({ cliPath: process.env.TEMPORAL_CLI_PATH || undefined, namespace: 'default', dbFilename: temporalDb, log: (msg) => process.stderr.write(`${msg}\n`) });
  const port = String(3900 + (process.pid % 1000));
  const env = { ...serverEnv, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: dev.address, TEMPORAL_TASK_QUEUE: `bench-${process.pid}`, PORT: port, DATABASE_POOL_SIZE: process.env.DATABASE_POOL_SIZE ?? '20' };
  const workers: ChildProcess[] = [];
  let api: ChildProcess;
  if (processes === 'single') {
    api = await spawnAbonoProcess('src/main.ts', env, 'abono is running');
  } else {
    for (let i = 0; i < workerCount; i++) workers.push(await spawnAbonoProcess('src/worker/main.ts', { ...env, RUN_API: 'false' }, '"worker running"'));
    api = await spawnAbonoProcess('src/api/main.ts', env, '"api listening"');
  }
  const dbName = new URL(databaseUrl).pathname.slice(1);
  const temporalPort = dev.address.split(':').pop();
  const stopAbono = async () => void (await Promise.all([api, ...workers].map(stopProcess)));
  return {
    name: processes === 'single' ? 'dev server, api+worker in one process' : `dev server, 1 API + ${workerCount} worker process(es)`,
    databaseUrl,
    temporalAddress: dev.address,
    apiUrls: [`http://127.0.0.1:${port}`],
    stopAbono,
    async stop() {
      await stopAbono();
      await dev.stop();
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(temporalDb + suffix, { force: true });
    },
    cpuGroups: {
      api: () => [api.pid!],
      worker: () => workers.map((w) => w.pid!),
      temporal: () => pidsMatching((cmd) => cmd.includes('start-dev') && cmd.includes(`--port ${temporalPort} `)),
      postgres: () => pidsMatching((cmd) => cmd.startsWith('postgres: ') && cmd.includes(` ${dbName} `)),
      loadGenerator: () => [process.pid],
    },
  };
}
