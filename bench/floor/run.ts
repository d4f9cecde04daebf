// Measures the engine's floor on a Temporal server: empty workflows (floor/workflow.ts) started
// by update-with-start, with the same id policies and search attributes as a payment, at the
// same concurrency (closed loop) or the same arrival rate (open loop) as the payments. Its
// worker runs in this process, on its own task queue.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { CreditId, OperationKind, OperationStatus, PaymentId } from '../../src/temporal/search-attributes';
import { cpuMsPer, cpuSnapshot, percentile } from '../stack';
import { emptyWorkflow, finish } from './workflow';

export interface Load {
  /** Closed loop: this many at once. */
  concurrency?: number;
  /** Open loop: arrivals per second for `count` arrivals. */
  ratePerSecond?: number;
  count: number;
}

export interface Timed {
  ms: number;
  ok: boolean;
}

/** Runs job(i) for i < load.count, closed or open loop; returns each one's time. */
export async function drive(load: Load, job: (i: number) => Promise<boolean>): Promise<{ samples: Timed[]; seconds: number }> {
  const timed = async (i: number): Promise<Timed> => {
    const t0 = performance.now();
    const ok = await job(i).catch(() => false);
    return { ms: performance.now() - t0, ok };
  };
  const samples: Timed[] = new Array(load.count);
  const t0 = performance.now();
  if (load.ratePerSecond) {
    const started: Array<Promise<void>> = [];
    for (let i = 0; i < load.count; i++) {
      const wait = t0 + (i * 1000) / load.ratePerSecond - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      started.push(timed(i).then((s) => void (samples[i] = s)));
    }
    await Promise.all(started);
  } else {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(load.concurrency ?? 1, load.count) }, async () => {
        for (let i = next++; i < load.count; i = next++) samples[i] = await timed(i);
      }),
    );
  }
  return { samples, seconds: (performance.now() - t0) / 1000 };
}

export function latency(samples: Timed[]) {
  const ok = samples.filter((s) => s.ok).map((s) => s.ms).sort((a, b) => a - b);
  return { p50: percentile(ok, 50), p95: percentile(ok, 95), p99: percentile(ok, 99), max: percentile(ok, 100) };
}

/** The floor on the Temporal at `address`: throughput, latency and CPU per workflow of each group. */
export async function measureFloor(address: string, load: Load, cpuGroups: Record<string, () => number[]>) {
  const taskQueue = `bench-floor-${process.pid}`;
  const nativeConnection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowsPath: path.join(__dirname, 'workflow.ts'),
  });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const start = () => {
    const id = randomUUID();
    return client.workflow.executeUpdateWithStart(finish, {
      startWorkflowOperation: new WithStartWorkflowOperation(emptyWorkflow, {
        workflowId: `floor-${id}`,
        taskQueue,
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        typedSearchAttributes: [
          { key: CreditId, value: id },
          { key: PaymentId, value: id },
          { key: OperationKind, value: 'payment' },
          { key: OperationStatus, value: 'RUNNING' },
        ],
      }),
    });
  };
  return worker.runUntil(async () => {
    await drive({ concurrency: 16, count: 200 }, async () => (await start()) === 'done'); // warm-up
    const cpu0 = cpuSnapshot(cpuGroups);
    const { samples, seconds } = await drive(load, async () => (await start()) === 'done');
    const cpu = cpuMsPer(cpu0, cpuSnapshot(cpuGroups), load.count);
    await connection.close();
    return { workflowsPerSecond: Math.round(load.count / seconds), latencyMs: latency(samples), errors: samples.filter((s) => !s.ok).length, cpuMsPerWorkflow: cpu };
  });
}
