import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, LogLevel, NativeConnection, Runtime, Worker, bundleWorkflowCode, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from '../logger';
import { ActivityDeps, createPaymentActivities } from '../activities/payment-activities';
import { createRecalculationActivities } from '../activities/recalculation-activities';
import { createPaymentBatchActivities } from '../activities/payment-batch-activities';
import { createRecordedStartActivities } from '../activities/recorded-start-activities';
import { createImportActivities } from '../activities/import-activities';
import { instrumentActivities } from '../observability/activities';
import { freePort, setSdkMetricsUrl } from '../observability/metrics';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Written by `npm run build` into dist/ (scripts/build-assets.ts). */
export const BUILT_WORKFLOW_BUNDLE = 'workflow-bundle.js';
/** Compiled, this file is dist/src/worker/worker.js and the bundle dist/workflow-bundle.js; run from its sources there is none. */
const builtBundlePath = path.resolve(__dirname, '../..', BUILT_WORKFLOW_BUNDLE);

/** The workflow code is bundled once per process and shared by every worker in it. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: path.resolve(__dirname, '../workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } as never,
  });
  return bundle;
}

let runtimeInstalled: Promise<void> | undefined;

/**
 * Routes the SDK's own logs (worker, activities, workflows) into abono's JSON logger, and has the SDK core export
 * its metrics as Prometheus text on 127.0.0.1:<sdkMetricsPort> (0 or absent: a free port picked now; 'off': none),
 * which GET /metrics appends. Once per process; every caller awaits the same installation.
 */
export function installRuntime(log: Logger, opts: { sdkMetricsPort?: number | 'off' } = {}): Promise<void> {
  runtimeInstalled ??= installRuntimeOnce(log, opts);
  return runtimeInstalled;
}

async function installRuntimeOnce(log: Logger, opts: { sdkMetricsPort?: number | 'off' }): Promise<void> {
  const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };
  // The SDK's INFO lines become debug lines here: unless abono logs at debug, ask the SDK for
  // warnings and up only, so it does not build lines that would be dropped (several per payment).
  const sdkLevel: LogLevel = log.isLevelEnabled('debug') ? 'INFO' : 'WARN';
  const logger = new DefaultLogger(sdkLevel, ({ level, message, meta }) => {
    // The SDK's routine lifecycle chatter is debug for us.
    const lvl = level === 'INFO' ? 'debug' : levels[level];
    log[lvl]({ ...(meta ?? {}), component: 'temporal-sdk' }, message);
  });
  // The SDK core's own (Rust) log lines go through the same JSON logger instead of stderr.
  const logging = { filter: { core: 'WARN' as const, other: 'ERROR' as const }, forward: {} };
  if (opts.sdkMetricsPort !== 'off') {
    const port = opts.sdkMetricsPort || (await freePort());
    const bindAddress = `127.0.0.1:${port}`;
    try {
      Runtime.install({ logger, telemetryOptions: { logging, metrics: { prometheus: { bindAddress } } } });
      setSdkMetricsUrl(`http://${bindAddress}/metrics`);
      log.debug({ bindAddress }, 'Temporal SDK metrics exported');
      return;
    } catch (err) {
      log.warn({ err, bindAddress }, 'Temporal SDK metrics could not be exported on that address; running without them');
    }
  }
  Runtime.install({ logger, telemetryOptions: { logging } });
}

/** Activities by their registered names (the workflows' activity types). */
export type ActivityMap = Record<string, (...args: never[]) => Promise<unknown>>;

export interface WorkerOptions extends ActivityDeps {
  log?: Logger;
  alertWebhookUrl?: string;
  recalculationThreads?: number;
  connection: NativeConnection;
  namespace: string;
  /** Payments and reversals. */
  taskQueue: string;
  /** Batch work: recalculations, payment files and imports. */
  batchTaskQueue: string;
  /** Tests only: wraps the activities before they are registered (fault injection). */
  wrapActivities?: <T extends ActivityMap>(activities: T) => T;
  /** Security: the payload codec (src/security/payload-codec.ts); absent = payloads in clear. */
  dataConverter?: WorkerDataConverter;
}

type WorkerDataConverter = Parameters<typeof Worker.create>[0]['dataConverter'];

/** The process's two workers, one per task queue, each with its own slots: a ten-minute chunk never holds up a payment. */
export interface Workers {
  payments: Worker;
  batches: Worker;
}

async function createWorker(opts: WorkerOptions, taskQueue: string, activities: ActivityMap): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue,
    // Built at build time when there is one; bundled now (once per process) otherwise.
    workflowBundle: fs.existsSync(builtBundlePath) ? { codePath: builtBundlePath } : await workflowBundle(),
    dataConverter: opts.dataConverter,
    activities: instrumentActivities(opts.wrapActivities ? opts.wrapActivities(activities) : activities, opts.log),
    // Let in-flight activities finish on shutdown; what does not finish is retried by Temporal.
    shutdownGraceTime: '10 seconds',
    // Slots, pollers and workflow threads keep the SDK's defaults (one workflow thread, one reused
    // V8 context): two workflow threads per process cost more CPU per payment (21 ms against 17) and
    // gave 0.53 of the engine's floor against 0.63 (bench:payments --cluster).
    // Where the workflow side's CPU goes, measured by replaying a recorded payment history 300 times in one
    // process (about 14 ms of CPU a payment): every call into the reused V8 sandbox (about 19 a payment) runs
    // under isolateExecutionTimeout, which starts and joins a watchdog thread (45 µs of CPU and 90–110 µs of
    // wall time a call, against 1 µs without; the SDK takes no option to turn it off, and the timeout is what
    // turns a workflow stuck in a loop into a failed task, so it stays); and every promise the workflow code
    // makes (54 a payment, 51 since the payment workflow's helpers stopped being async) has the SDK's promise
    // hook capture and source-map its stack.
  });
}

export async function createWorkers(opts: WorkerOptions): Promise<Workers> {
  // The recorded-start check runs as a local activity, so on the worker of each workflow that makes it.
  const recordedStart = createRecordedStartActivities(opts);
  return {
    payments: await createWorker(opts, opts.taskQueue, { ...createPaymentActivities(opts), ...recordedStart }),
    batches: await createWorker(opts, opts.batchTaskQueue, { ...createRecalculationActivities(opts), ...createPaymentBatchActivities(opts), ...createImportActivities(opts), ...recordedStart }),
  };
}
