// The recalculation's chunk check, on worker threads so that a batch uses every core of the machine: a
// thread reads its chunk (a statement per STATEMENT_CREDITS credits, on its own connection), recomputes and compares every credit
// with the domain module, and hands back only the drifted ones. This module is also the threads' entry.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Client, ClientConfig, Query, types as pgTypes } from 'pg';
import { DataSource } from 'typeorm';
import { ChunkCredit, ChunkRange, CreditDrift, driftOfChunkCredit, loadChunk, readChunkByStatements } from './credit-chunks';
import type { Proven } from './verification-marks';

/** A batch of fewer named credits than this is checked on the calling thread (a thread's start costs more). */
const THREAD_MIN_CREDITS = 256;
/** A thread left idle this long ends (and closes its connection); the next chunk starts one again. */
const THREAD_IDLE_MS = 30_000;
const THREAD_MARK = 'abonoRecalculationCheck';

export interface ChunkCheck {
  scanned: number;
  drift: CreditDrift[];
  /** The consistent credits, with the change mark each was read with. */
  proven: Proven;
}

const emptyCheck = (): ChunkCheck => ({ scanned: 0, drift: [], proven: { creditIds: [], changeSeqs: [] } });

/** Checks one credit of a chunk into the chunk's result. */
function checkInto(result: ChunkCheck, c: ChunkCredit): void {
  result.scanned += 1;
  const drift = driftOfChunkCredit(c);
  if (drift.length) result.drift.push({ creditId: c.id, drift });
  else {
    result.proven.creditIds.push(c.id);
    result.proven.changeSeqs.push(c.change_seq);
  }
}

interface ThreadConfig {
  [THREAD_MARK]: true;
  url: string;
  statementTimeoutMs: number;
}

interface CheckTask {
  range: ChunkRange;
  resolve: (r: ChunkCheck) => void;
  reject: (err: Error) => void;
}

interface CheckThread {
  worker: Worker;
  task?: CheckTask;
  idleTimer?: NodeJS.Timeout;
}

/** Starts a check thread on this very module (under tsx, registering it in the thread first). */
function startThread(config: ThreadConfig): Worker {
  const options = { workerData: config };
  if (__filename.endsWith('.ts')) {
    const code = `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register(); require(${JSON.stringify(__filename)});`;
    return new Worker(code, { ...options, eval: true });
  }
  return new Worker(__filename, options);
}

/** A small pool of check threads for one database: a chunk each at a time, the rest queued in order. */
class CheckThreads {
  private readonly threads: CheckThread[] = [];
  private readonly queue: CheckTask[] = [];

  constructor(
    private readonly size: number,
    private readonly config: ThreadConfig,
  ) {}

  check(range: ChunkRange): Promise<ChunkCheck> {
    return new Promise((resolve, reject) => {
      this.queue.push({ range, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length) {
      let t = this.threads.find((x) => !x.task);
      if (!t && this.threads.length < this.size) t = this.spawn();
      if (!t) return;
      const task = this.queue.shift()!;
      clearTimeout(t.idleTimer);
      t.task = task;
      t.worker.postMessage(task.range);
    }
  }

  private spawn(): CheckThread {
    const t: CheckThread = { worker: startThread(this.config) };
    // Never keeps the process alive: a worker shutting down does not wait for idle threads.
    t.worker.unref();
    const fail = (err: Error) => {
      this.remove(t);
      t.task?.reject(err);
      t.task = undefined;
      this.dispatch();
    };
    t.worker.on('message', (msg: { result?: ChunkCheck; error?: string }) => {
      const task = t.task;
      t.task = undefined;
      if (msg.error !== undefined) task?.reject(new Error(msg.error));
      else task?.resolve(msg.result!);
      t.idleTimer = setTimeout(() => {
        this.remove(t);
        void t.worker.terminate();
      }, THREAD_IDLE_MS).unref();
      this.dispatch();
    });
    t.worker.on('error', fail);
    t.worker.on('exit', (code) => fail(new Error(`recalculation check thread exited with code ${code}`)));
    this.threads.push(t);
    return t;
  }

  private remove(t: CheckThread): void {
    clearTimeout(t.idleTimer);
    const i = this.threads.indexOf(t);
    if (i >= 0) this.threads.splice(i, 1);
  }
}

const pools = new Map<string, CheckThreads>();

/** Where the data source connects, when it says so by URL (the only way createDataSource connects). */
function urlOf(ds: DataSource): string | undefined {
  const url = (ds.options as { url?: string }).url;
  return typeof url === 'string' ? url : undefined;
}

/**
 * Reads and checks one chunk: on a check thread when it is worth one (and threads are on), else right here.
 * Either way each credit is read whole by one statement (one snapshot) and the domain module recomputes it.
 */
export async function checkChunk(ds: DataSource, range: ChunkRange, threadCount: number): Promise<ChunkCheck> {
  const url = urlOf(ds);
  if (threadCount > 0 && url && (range.creditIds?.length ?? Infinity) >= THREAD_MIN_CREDITS) {
    let pool = pools.get(url);
    if (!pool) {
      const timeout = Number((ds.options.extra as { statement_timeout?: number } | undefined)?.statement_timeout ?? 0);
      pool = new CheckThreads(threadCount, { [THREAD_MARK]: true, url, statementTimeoutMs: timeout });
      pools.set(url, pool);
    }
    return pool.check(range);
  }
  const credits = await ds.transaction(async (m) => {
    await m.query(NO_JIT_LOCAL);
    return loadChunk(m, range);
  });
  const result = emptyCheck();
  for (const c of credits) checkInto(result, c);
  return result;
}

/**
 * The chunk statement runs without JIT: PostgreSQL would compile its per-credit expressions anew for every
 * chunk (some 30 ms each), more than they take to run.
 */
export const NO_JIT_LOCAL = `SET LOCAL jit = off`;
const NO_JIT_OPTION = '-c jit=off';

/**
 * What a check thread runs (exported so that tests run it in process): chunks checked over one connection
 * of its own, each credit as its row arrives. A chunk that fails closes the connection; the next one
 * opens a new one.
 */
export function streamingChunkChecker(config: { url: string; statementTimeoutMs: number }): { check(range: ChunkRange): Promise<ChunkCheck>; close(): Promise<void> } {
  // As the data source reads them: DATE stays 'YYYY-MM-DD', NUMERIC stays a string.
  const types = { getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === pgTypes.builtins.DATE ? (v: string) => v : pgTypes.getTypeParser(oid, format)) };
  let client: Promise<Client> | undefined;
  const connect = async (): Promise<Client> => {
    const c = new Client({
      connectionString: config.url,
      statement_timeout: config.statementTimeoutMs || undefined,
      application_name: 'abono-recalculation',
      options: NO_JIT_OPTION,
      types,
    } as ClientConfig);
    c.on('error', () => (client = undefined));
    await c.connect();
    return c;
  };
  // Each credit is checked as its row arrives, while PostgreSQL goes on producing the next ones; its
  // text is garbage at once instead of living as long as the whole chunk.
  const checkStatement = (c: Client, statement: { text: string; values: unknown[] }, result: ChunkCheck): Promise<{ count: number; lastId?: string }> =>
    new Promise((resolve, reject) => {
      let count = 0;
      let lastId: string | undefined;
      let failure: unknown;
      const q = new Query(statement.text, statement.values);
      q.on('row', (row: ChunkCredit) => {
        count += 1;
        lastId = row.id;
        if (failure !== undefined) return;
        try {
          checkInto(result, row);
        } catch (err) {
          failure = err;
        }
      });
      q.on('error', reject);
      q.on('end', () => (failure === undefined ? resolve({ count, lastId }) : reject(failure)));
      c.query(q);
    });
  const checkStreaming = async (c: Client, range: ChunkRange): Promise<ChunkCheck> => {
    const result = emptyCheck();
    await readChunkByStatements(range, (statement) => checkStatement(c, statement, result));
    return result;
  };
  const close = async () => {
    const old = client;
    client = undefined;
    await old?.then((c) => c.end()).catch(() => undefined);
  };
  return {
    async check(range) {
      try {
        client ??= connect();
        return await checkStreaming(await client, range);
      } catch (err) {
        void close(); // the next chunk starts on a new connection
        throw err;
      }
    },
    close,
  };
}

// A check thread: chunk ranges in, drifted credits out.
if (!isMainThread && parentPort && (workerData as Partial<ThreadConfig> | null)?.[THREAD_MARK]) {
  const port = parentPort;
  const checker = streamingChunkChecker(workerData as ThreadConfig);
  port.on('message', async (range: ChunkRange) => {
    try {
      port.postMessage({ result: await checker.check(range) });
    } catch (err) {
      port.postMessage({ error: (err as Error)?.stack ?? String(err) });
    }
  });
}
