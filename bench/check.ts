// npm run bench:check [-- --credits 50000 --chunk-size 2000 --database abono_bench_recalc]
// The recalculation's check alone, on a book bench:recalc loaded: its floor (the chunk statement's rows received
// through node-postgres and dropped), the same rows checked as they arrive (what a check thread does), and the check
// over rows already held in memory (best of five passes). CPU microseconds per credit, in one run.
import { parseArgs } from 'node:util';
import { Client, Query } from 'pg';
import { streamingChunkChecker } from '../src/db/chunk-check';
import { ChunkCredit, ChunkRange, chunkStatement, driftOfChunkCredit, loadChunk, STATEMENT_CREDITS } from '../src/db/credit-chunks';
import { createDataSource } from '../src/db/data-source';
import { FIRST_ID, planChunks } from '../src/db/recalculation-chunks';
import { runBenchmark } from './stack';

const cpuMicros = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

async function main() {
  const { values } = parseArgs({
    options: {
      credits: { type: 'string', default: '50000' },
      'chunk-size': { type: 'string', default: '2000' },
      database: { type: 'string', default: 'abono_bench_recalc' },
    },
  });
  const url = process.env.DATABASE_URL ?? `postgres://postgres@127.0.0.1:5432/${values.database}`;
  const chunkSize = Number(values['chunk-size']);
  const ds = createDataSource(url, 2, { statementTimeoutMs: 0 });
  await ds.initialize();
  // A range per statement the check reads (a chunk of more credits is read by several).
  const statementCredits = Math.min(chunkSize, STATEMENT_CREDITS);
  const bounds = await planChunks(ds, FIRST_ID, statementCredits, Math.ceil(Number(values.credits) / statementCredits));
  if (bounds.length === 0) throw new Error(`no credits in ${values.database}: load a book with npm run bench:recalc first`);
  const ranges: ChunkRange[] = bounds.map((hi, i) => ({ lo: i === 0 ? FIRST_ID : bounds[i - 1], hi }));

  // The floor: the rows received and dropped, on one connection read as a check thread reads them.
  const client = new Client({ connectionString: url, options: '-c jit=off', types: { getTypeParser: () => (v: string) => v } } as never);
  await client.connect();
  let received = 0;
  const f0 = cpuMicros();
  for (const range of ranges) {
    const { text, values: params } = chunkStatement(range);
    await new Promise<void>((resolve, reject) => {
      const q = new Query(text, params);
      q.on('row', () => received++);
      q.on('end', () => resolve());
      q.on('error', reject);
      client.query(q);
    });
  }
  const floorMicros = cpuMicros() - f0;
  await client.end();

  // Checked as they arrive: the check thread's own code, here on the main thread.
  const checker = streamingChunkChecker({ url, statementTimeoutMs: 0 });
  let scanned = 0;
  let drifted = 0;
  const s0 = cpuMicros();
  for (const range of ranges) {
    const r = await checker.check(range);
    scanned += r.scanned;
    drifted += r.drift.length;
  }
  const streamMicros = cpuMicros() - s0;
  await checker.close();

  // The check alone, over rows already in memory.
  const rows: ChunkCredit[] = [];
  for (const range of ranges) rows.push(...(await loadChunk(ds.manager, range)));
  await ds.destroy();
  let bestMicros = Infinity;
  for (let pass = 0; pass < 5; pass++) {
    const t0 = cpuMicros();
    for (const c of rows) driftOfChunkCredit(c);
    bestMicros = Math.min(bestMicros, cpuMicros() - t0);
  }

  const perCredit = (micros: number, n: number) => Math.round((micros / n) * 10) / 10;
  console.log(
    JSON.stringify(
      {
        benchmark: 'recalculation-check',
        credits: scanned,
        drifted,
        cpuMicrosPerCredit: {
          receiveFloor: perCredit(floorMicros, received),
          receiveAndCheck: perCredit(streamMicros, scanned),
          checkInMemoryBestOfFive: perCredit(bestMicros, rows.length),
        },
        checkOverFloor: Math.round((streamMicros / floorMicros) * 10) / 10,
        note: 'CPU of this process only (PostgreSQL producing the rows is bench:recalc --read-floor)',
      },
      null,
      2,
    ),
  );
}

runBenchmark(main);
