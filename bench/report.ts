// npm run bench:report [-- --credits 1000000 --payments-per-credit 10 --calls 200 [--reuse]]
// Seeds a dedicated database (abono_bench_reports, or DATABASE_URL) with a generated portfolio through the seed
// script (a child process, so its memory is not this one's), starts the API in-process (no worker) and measures
// over real HTTP:
//   - GET /v1/credits/:id/payments of a credit with 1,000 payments: median and p99 over `calls` calls;
//   - GET /v1/reports/portfolio totals over the whole portfolio: median and p99 over `calls` calls;
//   - GET /v1/reports/portfolio?format=csv: time, rows, bytes and the peak RSS of this process while streaming.
// Prints JSON.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createApiKey } from '../src/db/api-keys';
import { percentile, startBenchStack, runBenchmark } from './stack';

const BASE_DATE = '2026-06-01';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function runSeed(databaseUrl: string, args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const tsx = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx');
    const child = spawn(tsx, [path.join(__dirname, '..', 'scripts', 'seed.ts'), '--database-url', databaseUrl, '--base-date', BASE_DATE, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`seed exited with ${code}`))));
  });
}

async function timed(n: number, fn: () => Promise<void>) {
  for (let i = 0; i < Math.min(10, Math.ceil(n / 10)); i++) await fn(); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { calls: n, medianMs: percentile(ms, 50), p99Ms: percentile(ms, 99), maxMs: percentile(ms, 100) };
}

async function main() {
  const { values } = parseArgs({
    options: {
      credits: { type: 'string', default: '1000000' },
      'payments-per-credit': { type: 'string', default: '10' },
      calls: { type: 'string', default: '200' },
      // Measure again on the portfolio a previous run left in abono_bench_reports, without seeding.
      reuse: { type: 'boolean', default: false },
    },
  });
  const credits = Number(values.credits);
  const perCredit = values['payments-per-credit'];
  const calls = Number(values.calls);
  if (values.reuse && !process.env.DATABASE_URL) {
    const url = new URL(process.env.BENCH_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
    url.pathname = '/abono_bench_reports';
    process.env.DATABASE_URL = url.toString();
  }
  const stack = await startBenchStack('abono_bench_reports', { RUN_WORKER: 'false', DATABASE_POOL_SIZE: '10' });
  try {
    const viewer = (await createApiKey(stack.abono.ds, 'bench-viewer', 'viewer')).key;
    const get = (p: string) => fetch(stack.url + p, { headers: { authorization: `Bearer ${viewer}` } });

    const t0 = Date.now();
    // One long credit (600 instalments) with 1,000 payments, then the rest of the portfolio.
    const seeded = values.reuse && Number((await stack.abono.ds.query(`SELECT count(*) AS n FROM credits`))[0].n) > 0;
    const big = seeded ? { ms: 0 } : await runSeed(stack.databaseUrl, ['--credits', '1', '--payments-per-credit', '1000', '--installments', '600', '--repaid-share', '0.8', '--seed', '99']);
    const rest = seeded ? { ms: 0, fkChecks: null } : await runSeed(stack.databaseUrl, ['--credits', String(credits - 1), '--payments-per-credit', perCredit, '--seed', '1']);
    const seedMs = Date.now() - t0;
    const [counts] = await stack.abono.ds.query(
      `SELECT (SELECT count(*) FROM credits)::int AS credits, (SELECT count(*) FROM payments)::int AS payments,
              (SELECT count(*) FROM payment_allocations)::int AS allocations, (SELECT count(*) FROM credit_installments)::int AS installments`,
    );
    const [{ id: creditId, payment_count: paymentCount }] = await stack.abono.ds.query(`SELECT id, payment_count FROM credits ORDER BY payment_count DESC LIMIT 1`);

    // CSV: stream every row; sample this process's RSS (server and client both live here) while it runs.
    gc();
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const c0 = performance.now();
    const res = await get(`/v1/reports/portfolio?asOf=${BASE_DATE}&format=csv`);
    let bytes = 0;
    let lines = 0;
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      for (let i = 0; i < value.length; i++) if (value[i] === 10) lines++;
    }
    const csvMs = performance.now() - c0;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    let paymentsBytes = 0;
    const creditPayments = await timed(calls, async () => {
      const res = await get(`/v1/credits/${creditId}/payments`);
      if (res.status !== 200) throw new Error(`payments list: ${res.status}`);
      paymentsBytes = (await res.arrayBuffer()).byteLength;
    });

    let totals: unknown;
    const portfolioTotals = await timed(calls, async () => {
      const res = await get(`/v1/reports/portfolio?asOf=${BASE_DATE}&limit=1`);
      if (res.status !== 200) throw new Error(`portfolio: ${res.status}`);
      totals = ((await res.json()) as { totals: unknown }).totals;
    });

    const mb = (b: number) => Math.round((b / 1024 / 1024) * 10) / 10;

    console.log(
      JSON.stringify(
        {
          benchmark: 'reports',
          data: { ...counts, seedSeconds: seeded ? 'reused' : Math.round(seedMs / 100) / 10, seed: { bigCredit: big.ms, portfolio: rest.ms, fkChecks: rest.fkChecks } },
          creditPayments: { creditId, payments: paymentCount, responseBytes: paymentsBytes, ...creditPayments, targetMs: 20 },
          portfolioTotals: { credits: counts.credits, ...portfolioTotals, targetMs: 1000, totals },
          portfolioCsv: { status: res.status, rows: lines - 1, megabytes: mb(bytes), seconds: Math.round(csvMs / 10) / 100, rowsPerSecond: Math.round(((lines - 1) / csvMs) * 1000), rssBeforeMb: mb(rssBefore), peakRssMb: mb(peak), growthMb: mb(peak - rssBefore), targetMb: 200, note: 'RSS of the one process that runs the API, the Temporal client and the HTTP client reading the stream' },
        },
        null,
        2,
      ),
    );
  } finally {
    await stack.stop();
  }
}

runBenchmark(main);
