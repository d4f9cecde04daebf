// npm run seed -- --credits N --payments-per-credit M [--database-url URL] [--drift K] [--seed S] [--templates T]
//                 [--base-date YYYY-MM-DD] [--installments 6,12,24] [--repaid-share 0.8,1.0]
//
// The command line over tools/seed.ts (the generator and COPY loader that tests and benchmarks import).
import { parseArgs } from 'node:util';
import { createDataSource, runMigrations } from '../src/db/data-source';
import { seedPortfolio } from '../tools/seed';

async function main() {
  const { values } = parseArgs({
    options: {
      credits: { type: 'string' },
      'payments-per-credit': { type: 'string', default: '10' },
      'database-url': { type: 'string' },
      drift: { type: 'string', default: '0' },
      seed: { type: 'string', default: '1' },
      templates: { type: 'string' },
      'base-date': { type: 'string' },
      installments: { type: 'string' },
      'repaid-share': { type: 'string' },
    },
  });
  const int = (name: string, v: string | undefined): number => {
    if (v === undefined || !/^\d+$/.test(v)) throw new Error(`--${name} must be a whole number`);
    return Number(v);
  };
  const url = values['database-url'] ?? process.env.DATABASE_URL;
  if (!url) throw new Error('give --database-url or DATABASE_URL');
  const ds = createDataSource(url, 8, { statementTimeoutMs: 0 });
  await ds.initialize();
  try {
    await runMigrations(ds);
    const result = await seedPortfolio(ds, {
      credits: int('credits', values.credits),
      paymentsPerCredit: int('payments-per-credit', values['payments-per-credit']),
      drift: int('drift', values.drift),
      seed: int('seed', values.seed),
      templates: values.templates !== undefined ? int('templates', values.templates) : undefined,
      baseDate: values['base-date'],
      installments: values.installments?.split(',').map((s) => int('installments', s)),
      repaidShares: values['repaid-share']?.split(',').map((s) => {
        if (!/^\d+(\.\d+)?$/.test(s)) throw new Error('--repaid-share must be decimals such as 0.8,1.0');
        return Number(s);
      }),
      log: (m) => process.stderr.write(`[seed] ${m}\n`),
    });
    const { driftedCreditIds, ...rest } = result;
    console.log(JSON.stringify({ ...rest, drifted: driftedCreditIds.length, driftedCreditIds: driftedCreditIds.slice(0, 100) }, null, 2));
  } finally {
    await ds.destroy();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
