// npm run bench:payment-latency [-- --payments 100]
// Sequential payments over HTTP through the full durable path; prints the POST→201 latency.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { percentile, startBenchStack, runBenchmark } from './stack';

async function main() {
  const { values } = parseArgs({ options: { payments: { type: 'string', default: '100' } } });
  const n = Number(values.payments);
  const stack = await startBenchStack('abono_bench_latency');
  try {
    const post = (path: string, key: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(stack.url + path, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const credit = (await (await post('/v1/credits', stack.keys.admin, { clientId: 'bench', principal: '1000000.00', interestRate: '0.01', installments: 120, startDate: '2026-01-01' })).json()) as { id: string };
    // Warm-up: workflow bundle, connections, JIT.
    for (let i = 0; i < 10; i++) await post('/v1/payments', stack.keys.operator, { creditId: credit.id, amount: '1.00' }, { 'idempotency-key': randomUUID() });
    const latencies: number[] = [];
    const statuses: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const res = await post('/v1/payments', stack.keys.operator, { creditId: credit.id, amount: '10.00' }, { 'idempotency-key': randomUUID() });
      await res.arrayBuffer();
      latencies.push(performance.now() - t0);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    }
    latencies.sort((a, b) => a - b);
    console.log(
      JSON.stringify(
        { benchmark: 'payment-latency', payments: n, statuses, latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), max: percentile(latencies, 100) } },
        null,
        2,
      ),
    );
  } finally {
    await stack.stop();
  }
}

runBenchmark(main);
