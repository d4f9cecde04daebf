// abono's API and worker processes of the cluster: the split entry points (src/api/main.ts,
// src/worker/main.ts), compiled when the cluster itself runs compiled (npm run cluster runs
// dist/), from the TypeScript sources otherwise (tests, through tsx).
import path from 'node:path';
import { ManagedChild } from './child';
import { COMPILED, PROJECT_ROOT, SOURCE_ROOT } from './paths';
import { workerEnvironment, workerNodeArgs } from '../worker/memory';

function entry(role: 'api' | 'worker', env: NodeJS.ProcessEnv): { command: string; args: string[]; cwd: string } {
  const file = path.join(SOURCE_ROOT, role, `main.${COMPILED ? 'js' : 'ts'}`);
  const memory = role === 'worker' ? workerNodeArgs(env) : [];
  return { command: process.execPath, args: [...memory, ...(COMPILED ? [file] : ['--import', 'tsx', file])], cwd: PROJECT_ROOT };
}

export interface AbonoProcessOptions {
  /** 1-based, as in the process's name. */
  index: number;
  env: NodeJS.ProcessEnv;
  logDir: string;
  log: (line: string) => void;
}

const ADMIN_KEY_LINE = /Admin API key \(shown once, store it now\): (\S+)/;

function abonoProcess(role: 'api' | 'worker', opts: AbonoProcessOptions, env: Record<string, string>, readyUrl: string, onLine?: (line: string) => void): ManagedChild {
  const name = `${role}-${opts.index}`;
  const processEnv = { ...opts.env, HOST: '127.0.0.1', ...env };
  return new ManagedChild({
    name,
    ...entry(role, opts.env),
    env: role === 'worker' ? workerEnvironment(processEnv) : processEnv,
    logFile: path.join(opts.logDir, `${name}.log`),
    readyTimeoutMs: 120_000,
    log: opts.log,
    onLine,
    ready: async () => (await fetch(readyUrl)).status === 200,
  });
}

/** API n on `port`; ready when GET /ready answers 200 (database and Temporal reachable). */
export function apiProcess(opts: AbonoProcessOptions & { port: number; onAdminKey: (key: string) => void }): ManagedChild {
  return abonoProcess('api', opts, { PORT: String(opts.port) }, `http://127.0.0.1:${opts.port}/ready`, (line) => {
    const key = ADMIN_KEY_LINE.exec(line)?.[1];
    if (key) opts.onAdminKey(key);
  });
}

/**
 * Worker n. Ready when its METRICS_PORT answers: the worker process opens it only after its
 * Temporal worker is running (polling its task queue), so the port is the observable signal,
 * whatever LOG_LEVEL says.
 */
export function workerProcess(opts: AbonoProcessOptions & { metricsPort: number }): ManagedChild {
  return abonoProcess('worker', opts, { METRICS_PORT: String(opts.metricsPort) }, `http://127.0.0.1:${opts.metricsPort}/metrics`);
}
