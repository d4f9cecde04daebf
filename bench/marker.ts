// npm run bench:marker [-- --credits 200 --payments 1000 --concurrency 8 --rounds 6]
// What the change marker costs a payment: the same payments through the workflow's database steps in plain
// transactions (the marker is a database cost, and this path has nothing else to hide it in), in alternating
// rounds with the marker on and off, in one run on one database. "Off" swaps the mark for nothing with a
// BEFORE INSERT trigger that drops the row, so the off rounds still carry the statement's parse and the
// trigger call: the figure slightly understates the marker's cost. On a shared machine throughput swings with
// the neighbours' load, so each round also counts the CPU its own PostgreSQL backends and this process spent
// per payment (from /proc), which the neighbours do not change.
import { parseArgs } from 'node:util';
import { createPaymentActivities } from '../src/activities/payment-activities';
import { createDataSource, runMigrations } from '../src/db/data-source';
import { todayIn } from '../src/domain';
import { amountFor, creditFor, makeCredits, payPlain, pool } from './plain-payments';
import { cpuMsPer, cpuSnapshot, freshBenchDatabase, median, runBenchmark } from './stack';
import type { DataSource } from 'typeorm';


async function setMarker(ds: DataSource, on: boolean): Promise<void> {
  await ds.query(`DROP TRIGGER IF EXISTS bench_marker_off ON credit_changes`);
  if (!on) await ds.query(`CREATE TRIGGER bench_marker_off BEFORE INSERT ON credit_changes FOR EACH ROW EXECUTE FUNCTION bench_drop_row()`);
}

async function main() {
  const { values } = parseArgs({
    options: {
      credits: { type: 'string', default: '200' },
      payments: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '6' },
    },
  });
  const [k, m, c, rounds] = [values.credits, values.payments, values.concurrency, values.rounds].map(Number);
  const ds = createDataSource(await freshBenchDatabase('abono_bench_marker'), c + 2);
  await ds.initialize();
  try {
    await runMigrations(ds);
    await ds.query(`CREATE FUNCTION bench_drop_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`);
    const credits = await makeCredits(ds, k);
    const steps = createPaymentActivities({ ds, timeZone: 'UTC' });
    const today = todayIn('UTC');
    const rates: Record<'with' | 'without', number[]> = { with: [], without: [] };
    const cpuMs: Record<'with' | 'without', number[]> = { with: [], without: [] };
    await pool(m, c, (i) => payPlain(ds, steps, creditFor(i, credits), amountFor(i), today)); // warm-up
    const backends: number[] = (await ds.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)).map((r: { pid: number }) => r.pid);
    const groups = { postgres: () => backends, node: () => [process.pid] };
    for (let r = 0; r < rounds * 2; r++) {
      // with, without, without, with, …: neither side always runs first.
      const on = (r % 4 === 0 || r % 4 === 3);
      await setMarker(ds, on);
      await ds.query(`VACUUM ANALYZE credits`);
      const cpu0 = cpuSnapshot(groups);
      const t0 = performance.now();
      await pool(m, c, (i) => payPlain(ds, steps, creditFor(i + r * m, credits), amountFor(i), today));
      rates[on ? 'with' : 'without'].push(m / ((performance.now() - t0) / 1000));
      cpuMs[on ? 'with' : 'without'].push(cpuMsPer(cpu0, cpuSnapshot(groups), m).total);
    }
    await setMarker(ds, true);
    const withRate = median(rates.with);
    const withoutRate = median(rates.without);
    console.log(
      JSON.stringify(
        {
          benchmark: 'payment-change-marker',
          credits: k,
          paymentsPerRound: m,
          concurrency: c,
          rounds,
          paymentsPerSecond: { withMarker: rates.with.map(Math.round), withoutMarker: rates.without.map(Math.round) },
          medianPaymentsPerSecond: { withMarker: Math.round(withRate), withoutMarker: Math.round(withoutRate) },
          withToWithout: Math.round((withRate / withoutRate) * 1000) / 1000,
          cpuMsPerPayment: { withMarker: cpuMs.with, withoutMarker: cpuMs.without, medianWith: median(cpuMs.with), medianWithout: median(cpuMs.without) },
          cpuWithToWithout: Math.round((median(cpuMs.with) / median(cpuMs.without)) * 1000) / 1000,
          note: 'plain transactions through the workflow database steps; off = a BEFORE INSERT trigger dropping the mark; CPU = this database\'s backends + this process',
        },
        null,
        2,
      ),
    );
  } finally {
    await ds.destroy();
  }
}

runBenchmark(main);
