// Runs abono's real workflow code on the suite's real Temporal dev server, with the
// activities (local and remote) replaced by recording mocks registered under the same
// names. Under `npm run coverage` the workflow bundle is instrumented, and what the
// sandbox executed is added to this test file's coverage (Jest cannot see inside it).
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { WorkflowCoverage } from '@temporalio/nyc-test-coverage';
import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { OperationStatus } from '../../src/temporal/search-attributes';

// Jest defines its coverage global (when coverage is on) as soon as an instrumented module
// runs, as the imports above do; WorkflowCoverage instruments the bundle only when it exists.

export const WORKFLOWS_DIR = path.resolve(__dirname, '../../src/workflows');
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} };

type AnyFn = (...args: any[]) => Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One activity call as the workflow made it: its name and arguments, in the order made. */
export interface ActivityCall {
  name: string;
  args: unknown[];
}

/** Wraps each mock so that every call (every attempt) is recorded before it runs. */
export function recorded<T extends Record<string, AnyFn>>(impls: T): { activities: T; calls: ActivityCall[]; names(): string[] } {
  const calls: ActivityCall[] = [];
  const activities = Object.fromEntries(
    Object.entries(impls).map(([name, fn]) => [
      name,
      (...args: unknown[]) => {
        calls.push({ name, args });
        return fn(...args);
      },
    ]),
  ) as T;
  return { activities, calls, names: () => calls.map((c) => c.name) };
}

/** A promise with its resolve exposed: lets a mock activity wait for the test, or signal it. */
export function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Every start in these tests stands for one the API recorded: the recorded-start check answers yes
 * unless a test registers its own (test/integration/security-recorded-starts.test.ts drives the refusal for real).
 */
const recordedStartMocks: Record<string, AnyFn> = {
  isRecordedStart: async () => true,
  auditUnrecordedStart: async () => undefined,
};

export interface Sandbox {
  env: TestWorkflowEnvironment;
  /** Runs `body` while a worker with these activities polls `taskQueue` (default: one of its own). */
  withWorker<R>(activities: Record<string, AnyFn>, body: (taskQueue: string) => Promise<R>, taskQueue?: string): Promise<R>;
  stop(): Promise<void>;
}

/**
 * The SDK logs warnings and up: its per-worker lifecycle lines would bury a failure's
 * output. Once per process (Jest runs each file in its own), before any connection.
 */
export function quietRuntime() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

/**
 * Connects to a Temporal server (the suite's dev server unless `env` is given), bundles the
 * workflows once (instrumented when coverage is on) and hands out workers per test.
 */
export async function openSandbox(env?: TestWorkflowEnvironment): Promise<Sandbox> {
  const ownEnv = !env;
  if (!env) quietRuntime();
  env ??= await TestWorkflowEnvironment.createFromExistingServer({ address: process.env.TEMPORAL_ADDRESS, namespace: 'default' });
  const coverage = new WorkflowCoverage();
  const bundle: WorkflowBundleWithSourceMap = await bundleWorkflowCode(coverage.augmentBundleOptions({ workflowsPath: WORKFLOWS_DIR, logger: quiet as never }));
  const sandbox: Sandbox = {
    env,
    async withWorker(activities, body, taskQueue = `workflow-test-${randomUUID()}`) {
      const worker = await Worker.create(
        coverage.augmentWorkerOptionsWithBundle({ connection: env!.nativeConnection, namespace: 'default', taskQueue, workflowBundle: bundle, activities: { ...recordedStartMocks, ...activities } }),
      );
      return worker.runUntil(body(taskQueue));
    },
    async stop() {
      addWorkflowCoverage(coverage);
      if (ownEnv) await env!.teardown();
    },
  };
  return sandbox;
}

interface FileCounts {
  hash?: string;
  s: Record<string, number>;
  f: Record<string, number>;
  b: Record<string, number[]>;
}

/**
 * Adds the sandbox's counts for src/workflows files to Jest's coverage global, in place.
 * Only files that Jest does not instrument itself (jest.config.js leaves workflow code to
 * the sandbox; the shared types are loaded by the API and counted there): two different
 * instrumentations of one file cannot be added up.
 */
function addWorkflowCoverage(coverage: WorkflowCoverage) {
  const global = (globalThis as { __coverage__?: Record<string, FileCounts> }).__coverage__;
  if (!global) return;
  for (const data of coverage.coverageMapsData as Array<Record<string, FileCounts>>) {
    for (const [file, counts] of Object.entries(data)) {
      if (!file.startsWith(WORKFLOWS_DIR + path.sep)) continue;
      const known = global[file];
      if (!known) global[file] = structuredClone(counts);
      else if (known.hash === counts.hash) addCounts(known, counts);
    }
  }
  coverage.coverageMapsData = [];
}

function addCounts(into: FileCounts, from: FileCounts) {
  for (const k of Object.keys(from.s)) into.s[k] += from.s[k];
  for (const k of Object.keys(from.f)) into.f[k] += from.f[k];
  for (const k of Object.keys(from.b)) into.b[k] = into.b[k].map((n, i) => n + from.b[k][i]);
}

/** What an operator filters on in the Temporal UI: the workflow's OperationStatus search attribute. */
export async function operationStatus(handle: WorkflowHandle): Promise<string | undefined> {
  return (await handle.describe()).typedSearchAttributes.get(OperationStatus);
}

/** Polls `read` until `done` holds, failing after `timeoutMs` (never a fixed sleep). */
export async function eventually<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
