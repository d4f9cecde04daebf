import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { Client, Connection } from '@temporalio/client';
import { Cluster, startCluster } from '../../src/cluster/topology';
import { createDataSource } from '../../src/db/data-source';
import { Burst, paymentSpecs, PaymentSpec, startBurst } from './cluster-load';

/**
 * The fault suite's topology: Temporal's own server, 2 API and 2 worker processes on an
 * embedded PostgreSQL in a temporary folder (the suite restarts that PostgreSQL, so it must
 * be its own), every port a free one (other runs use the usual ports on this machine).
 */

export interface TestCluster {
  cluster: Cluster;
  /** The admin key printed on the fresh database (admin may do everything the suite does). */
  apiKey: string;
  /** Each API's base URL with /v1, as the README prints them. */
  apiUrls: string[];
  logFile: string;
  /** A fresh pool on abono's database (close it with closeDb): one opened after a PostgreSQL restart has no dead connections. */
  openDb(): Promise<DataSource>;
  temporal(): Promise<Client>;
  stop(): Promise<void>;
}

function listenable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** `count` consecutive free ports (API i listens on base + i), away from the usual 3000/7233/8080/8233. */
export async function freePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const all = await Promise.all(Array.from({ length: count }, (_, i) => listenable(base + i)));
    if (all.every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` until it resolves, for at most `timeoutMs` (e.g. a query right after PostgreSQL came back). */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}

export async function startTestCluster(env: Record<string, string> = {}): Promise<TestCluster> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'abono-cluster-'));
  // PostgreSQL runs as its own user when the suite runs as root: it must reach its folder.
  fs.chmodSync(dataDir, 0o755);
  const logFile = path.join(os.tmpdir(), `abono-cluster-${process.pid}-${path.basename(dataDir)}.log`);
  const log = fs.createWriteStream(logFile);
  process.stderr.write(`[cluster suite] data in ${dataDir}, log in ${logFile} (each process's: ${logFile.replace(/\.log$/, '-logs')}/)\n`);
  const cluster = await startCluster({
    apiCount: 2,
    workerCount: 2,
    apiBasePort: await freePorts(2),
    // The server's other ports are derived from this one: keep a run of them free.
    temporalPort: await freePorts(8),
    uiPort: false,
    dataDir,
    // No rate limit: the suite is one client sending thousands of requests a minute.
    env: { RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn', RECALC_SCHEDULE_ENABLED: 'false', ...env },
    log: (line) => log.write(`${new Date().toISOString()} ${line}\n`),
  });
  if (!cluster.adminKey) {
    await cluster.stop();
    throw new Error('the cluster printed no admin key on its fresh database');
  }
  let temporal: Client | undefined;
  return {
    cluster,
    apiKey: cluster.adminKey,
    apiUrls: cluster.apiUrls.map((u) => `${u.replace(/\/$/, '')}/v1`),
    logFile,
    async openDb() {
      const ds = createDataSource(cluster.databaseUrl, 4);
      await eventually(() => ds.initialize());
      return ds;
    },
    async temporal() {
      temporal ??= new Client({ connection: await Connection.connect({ address: cluster.temporalAddress }) });
      return temporal;
    },
    async stop() {
      await temporal?.connection.close().catch(() => undefined);
      await cluster.stop();
      log.end();
      // Each process's own log outlives the data: what a failed scenario is read from.
      const processLogs = path.join(dataDir, 'logs');
      if (fs.existsSync(processLogs)) fs.cpSync(processLogs, logFile.replace(/\.log$/, '-logs'), { recursive: true });
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Every process of the cluster, so a scenario can start from a whole one. */
async function ensureAllRunning(tc: TestCluster): Promise<void> {
  const { cluster } = tc;
  for (const p of [cluster.postgres, cluster.temporal, ...cluster.apis, ...cluster.workers]) {
    if (p && p.pid === undefined) await p.start();
  }
}

/** `count` credits created through the APIs (alternating), large enough that no payment of the suite is refused. */
export async function createCredits(tc: TestCluster, count: number, over: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = new Array(count);
  let next = 0;
  const one = async () => {
    for (let i = next++; i < count; i = next++) {
      const res = await fetch(`${tc.apiUrls[i % tc.apiUrls.length]}/credits`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tc.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ clientId: `client-${i}`, principal: '100000.00', interestRate: '0.05', installments: 24, startDate: '2026-01-01', ...over }),
      });
      const body = (await res.json()) as { id: string };
      if (res.status !== 201) throw new Error(`credit creation failed: ${res.status} ${JSON.stringify(body)}`);
      ids[i] = body.id;
    }
  };
  await Promise.all(Array.from({ length: 8 }, one));
  return ids;
}

/** Registers a test file's hooks: one topology for all its scenarios, every process up before each. */
export function sharedCluster(env: Record<string, string> = {}): () => TestCluster {
  let tc: TestCluster | undefined;
  beforeAll(async () => {
    tc = await startTestCluster(env);
  }, 600_000);
  afterAll(async () => {
    await tc?.stop();
  }, 120_000);
  beforeEach(async () => {
    if (tc) await ensureAllRunning(tc);
  }, 120_000);
  return () => {
    if (!tc) throw new Error('the cluster did not start');
    return tc;
  };
}

/** One line per scenario on stderr: the figures a reader of the run wants. */
export const report = (scenario: string, figures: unknown) => process.stderr.write(`[cluster suite] ${scenario}: ${JSON.stringify(figures)}\n`);

/** 500 payments (by default) over 50 new credits, both APIs; resolves once `faultAfter` are answered, the burst still going. */
export async function burstOnNewCredits(tc: TestCluster, faultAfter: number, count = 500): Promise<{ credits: string[]; specs: PaymentSpec[]; burst: Burst }> {
  const credits = await createCredits(tc, 50);
  const specs = paymentSpecs(credits, count);
  const burst = startBurst(tc.apiUrls, tc.apiKey, specs);
  await burst.untilAnswered(faultAfter);
  return { credits, specs, burst };
}
