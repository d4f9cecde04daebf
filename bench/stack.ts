// Brings up abono for a benchmark: a dedicated database (created fresh on the local
// PostgreSQL unless DATABASE_URL is set), a Temporal dev server (unless TEMPORAL_ADDRESS is
// set), and startAbono with the given settings. Everything is torn down by stop().
import { ChildProcess, spawn } from 'node:child_process';
import { workerEnvironment, workerNodeArgs } from '../src/worker/memory';
import fs from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Client } from 'pg';
import { Abono, startAbono } from '../src/abono';
import { Config, loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { createApiKey } from '../src/db/api-keys';
import { startDevServer } from '../src/temporal/dev-server';
import { installRuntime } from '../src/worker/worker';

const ADMIN_URL = process.env.BENCH_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database for the benchmark: dropped and created anew, or kept as it is with `reuse`. */
export async function freshBenchDatabase(name: string, reuse = false): Promise<string> {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const exists = (await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name])).rowCount;
  if (!reuse || !exists) {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  }
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface BenchStack {
  abono: Abono;
  url: string;
  keys: { admin: string; operator: string };
  databaseUrl: string;
  temporalAddress: string;
  config: Config;
  stop(): Promise<void>;
}

export async function startBenchStack(dbName: string, env: Record<string, string> = {}, opts: { reuse?: boolean; before?: (databaseUrl: string) => Promise<void> } = {}): Promise<BenchStack> {
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
  await installRuntime(log);
  const databaseUrl = await freshBenchDatabase(dbName, opts.reuse);
  await opts.before?.(databaseUrl);
  let temporalAddress = process.env.TEMPORAL_ADDRESS;
  let stopServer: (() => Promise<void>) | undefined;
  if (!temporalAddress) {
    const dev = await startDevServer({ cliPath: process.env.TEMPORAL_CLI_PATH || undefined, namespace: 'default', log: (m) => process.stderr.write(`${m}\n`) });
    temporalAddress = dev.address;
    stopServer = dev.stop;
  }
  const config = loadConfig({ ...process.env, PORT: '0', LOG_LEVEL: 'warn', RECALC_SCHEDULE_ENABLED: 'false', ...env });
  const abono = await startAbono({ config, log, databaseUrl, temporalAddress });
  const keys = {
    admin: (await createApiKey(abono.ds, 'bench-admin', 'admin')).key,
    operator: (await createApiKey(abono.ds, 'bench-operator', 'operator')).key,
  };
  let stopped = false;
  return {
    abono,
    url: abono.apiUrl!,
    keys,
    databaseUrl,
    temporalAddress,
    config,
    async stop() {
      if (stopped) return;
      stopped = true;
      await abono.stop();
      await stopServer?.();
    },
  };
}

/** Percentile of sorted milliseconds. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[i] * 100) / 100;
}

/** The median: the middle value, or the mean of the two middle ones. */
export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Starts an abono process (src/main.ts, src/api/main.ts or src/worker/main.ts) as a child, the
 * way it runs in production, and resolves once its log says it is up.
 */
export async function spawnAbonoProcess(entry: string, env: Record<string, string>, readyLog: string): Promise<ChildProcess> {
  const root = path.resolve(__dirname, '..');
  // BENCH_CHILD_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the server processes.
  const nodeArgs = process.env.BENCH_CHILD_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  // A worker starts as production starts it: with its memory settings (src/worker/memory.ts).
  const isWorker = entry.includes('worker/main');
  const memory = isWorker ? workerNodeArgs() : [];
  const childEnv = { ...process.env, LOG_LEVEL: 'info', ...env };
  const child = spawn(process.execPath, [...memory, ...nodeArgs, '--import', 'tsx', path.join(root, entry)], {
    cwd: root,
    env: isWorker ? workerEnvironment(childEnv) : childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start:\n${output.slice(-2000)}`)), 120_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes(readyLog)) {
        clearTimeout(timer);
        // Keep draining its output so the pipe never fills and blocks it.
        child.stdout!.removeListener('data', onData);
        child.stdout!.resume();
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => reject(new Error(`${entry} exited with ${code}:\n${output.slice(-2000)}`)));
  });
  child.removeAllListeners('exit');
  child.stderr!.resume();
  return child;
}

export function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  });
}

/** The process's resident memory now (VmRSS) or at its peak (VmHWM), in MB. */
export function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** Starts the process's peak anew (Linux: clear_refs 5 resets VmHWM), so the peak read later is the run's own. */
export function resetPeakRss(pid: number): void {
  fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** A free TCP port on 127.0.0.1 (a spawned worker's metrics). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A histogram's sums by one label, read from a process's metrics listener. */
export async function histogramSums(metricsPort: number, histogram: string, label: string): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(new RegExp(`^${histogram}_sum\\{${label}="(\\w+)"\\} (\\S+)$`, 'gm'))) out[m[1]] = Number(m[2]);
  return out;
}

/** Runs a benchmark's main: exit 0 when it printed its JSON, 1 with the error otherwise. */
export function runBenchmark(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); 0 when it is gone. */
export function cpuSecondsOf(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
const CLOCK_TICKS = 100; // USER_HZ on Linux

/**
 * CPU seconds every PostgreSQL process on this machine has used so far, backends that have exited included (the
 * postmaster's reaped children), from /proc (Linux); null where PostgreSQL does not run here.
 */
export function postgresCpuSeconds(): number | null {
  let ticks = 0;
  let found = false;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (!/\((postgres|postmaster)\)/.test(stat.slice(0, stat.lastIndexOf(')') + 1))) continue;
      // utime, stime, cutime, cstime: the 12th to 15th fields after the command name.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      found = true;
    } catch {
      // gone meanwhile
    }
  }
  return found ? ticks / CLOCK_TICKS : null;
}

/** The pids whose command line matches `test`, from /proc. */
export function pidsMatching(test: (cmdline: string) => boolean): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (test(fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' '))) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Where the CPU goes: a snapshot of CPU seconds per named group of processes; `since` gives
 * each group's CPU milliseconds used since an earlier snapshot, per unit of work.
 */
export function cpuSnapshot(groups: Record<string, () => number[]>): Record<string, number> {
  return Object.fromEntries(Object.entries(groups).map(([name, pids]) => [name, pids().reduce((sum, pid) => sum + cpuSecondsOf(pid), 0)]));
}

export function cpuMsPer(before: Record<string, number>, after: Record<string, number>, units: number): Record<string, number> {
  const out: Record<string, number> = {};
  let total = 0;
  for (const name of Object.keys(after)) {
    const ms = ((after[name] - (before[name] ?? 0)) * 1000) / units;
    out[name] = Math.round(ms * 10) / 10;
    total += ms;
  }
  out.total = Math.round(total * 10) / 10;
  return out;
}
