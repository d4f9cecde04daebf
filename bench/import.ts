// npm run bench:import -- [--credits 1000000] [--format standard|spanish] [--dir DIR] [--seed S] [--skip-import]
//
// A legacy book brought in: a generated legacy export (npm run legacy-export; about 10 payments per credit) and, in
// the same run, its floor: a plain COPY of the two CSV files into staging tables of text columns, nothing parsed or
// computed. Prints JSON with credits/s, payments/s, each phase, the worker's peak RSS and the ratio to the COPY.
// An export already in --dir with the same credits, seed and format is reused (its generation is not the import).
//
// The import end to end (committing run, then a dry run) is `runImport` below: the one place the import workflow
// is wired in; until then the JSON reports the floor and `import: null`.
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { LegacyMapping, DEFAULT_MAPPING, readMappingFile } from '../src/imports/mapping';
import { LegacyExportFormat, writeLegacyExport } from '../tools/legacy-export';
import { freshBenchDatabase } from './stack';

const { values } = parseArgs({
  options: {
    credits: { type: 'string', default: '1000000' },
    format: { type: 'string', default: 'standard' },
    dir: { type: 'string' },
    seed: { type: 'string', default: '1' },
    'skip-import': { type: 'boolean', default: false },
  },
});
const CREDITS = Number(values.credits);
const SEED = Number(values.seed);
const FORMAT = values.format as LegacyExportFormat;
const DIR = resolve(values.dir ?? join('.data', 'bench-import', `${FORMAT}-${CREDITS}-${SEED}`));

export interface ExportFiles {
  dir: string;
  credits: string;
  payments: string;
  mapping: string | null;
  creditCount: number;
  paymentCount: number;
}

/** What runImport reports: seconds per phase (the committing run's and the dry run's), the worker's peak RSS. */
export interface ImportFigures {
  commitSeconds: number;
  dryRunSeconds: number;
  phases: Record<string, number>;
  workerPeakRssMb: number;
}

/**
 * The hook: import `files` into the database at `databaseUrl` end to end (a committing run, and a dry run of the
 * same files on a fresh database), timing each phase. Null while the import workflow is not wired in.
 */
async function runImport(_databaseUrl: string, _files: ExportFiles, _mapping: LegacyMapping): Promise<ImportFigures | null> {
  return null;
}

async function exportFiles(): Promise<{ files: ExportFiles; generatedSeconds: number | null }> {
  const manifestPath = join(DIR, 'manifest.json');
  let generatedSeconds: number | null = null;
  const fits = () => {
    if (!existsSync(manifestPath)) return false;
    const m = JSON.parse(readFileSync(manifestPath, 'utf8'));
    return m.summary?.credits === CREDITS && m.seed === SEED && m.format === FORMAT;
  };
  if (!fits()) {
    const res = await writeLegacyExport({ credits: CREDITS, outDir: DIR, seed: SEED, format: FORMAT });
    generatedSeconds = res.elapsedMs / 1000;
  }
  const summary = JSON.parse(readFileSync(manifestPath, 'utf8')).summary;
  const mapping = FORMAT === 'spanish' ? join(DIR, 'mapping.yaml') : null;
  return { files: { dir: DIR, credits: join(DIR, 'credits.csv'), payments: join(DIR, 'payments.csv'), mapping, creditCount: summary.credits, paymentCount: summary.payments }, generatedSeconds };
}

/** The floor: each file COPYed as it is into a staging table of text columns named by its header. */
async function copyFloor(databaseUrl: string, files: ExportFiles, mapping: LegacyMapping): Promise<{ seconds: number; credits: number; payments: number }> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const encoding = mapping.encoding === 'latin1' ? 'LATIN1' : 'UTF8';
    const delimiter = mapping.delimiter === '\t' ? 'E\'\\t\'' : `'${mapping.delimiter}'`;
    const header = (path: string) => readFileSync(path, mapping.encoding === 'latin1' ? 'latin1' : 'utf8').slice(0, 4096).split(/\r?\n/)[0].split(mapping.delimiter);
    const t0 = performance.now();
    for (const [table, path] of [['staging_legacy_credits', files.credits], ['staging_legacy_payments', files.payments]] as const) {
      await c.query(`DROP TABLE IF EXISTS ${table}`);
      await c.query(`CREATE TABLE ${table} (${header(path).map((_h, i) => `c${i} text`).join(', ')})`);
      await pipeline(createReadStream(path), c.query(copyFrom(`COPY ${table} FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER ${delimiter}, ENCODING '${encoding}')`)));
    }
    const seconds = (performance.now() - t0) / 1000;
    const count = async (t: string) => Number((await c.query(`SELECT count(*)::bigint AS n FROM ${t}`)).rows[0].n);
    return { seconds, credits: await count('staging_legacy_credits'), payments: await count('staging_legacy_payments') };
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  if (!Number.isSafeInteger(CREDITS) || CREDITS < 1) throw new Error('--credits must be a whole number ≥ 1');
  const { files, generatedSeconds } = await exportFiles();
  const mapping = files.mapping ? await readMappingFile(files.mapping) : DEFAULT_MAPPING;
  const loadBefore = loadavg();
  const floorDb = await freshBenchDatabase('abono_bench_import_floor');
  const floor = await copyFloor(floorDb, files, mapping);
  if (floor.credits !== files.creditCount || floor.payments !== files.paymentCount) throw new Error(`the COPY loaded ${floor.credits} credits and ${floor.payments} payments; the export holds ${files.creditCount} and ${files.paymentCount}`);
  const imported = values['skip-import'] ? null : await runImport(await freshBenchDatabase('abono_bench_import'), files, mapping);
  const round = (x: number) => Math.round(x * 100) / 100;
  console.log(
    JSON.stringify(
      {
        credits: files.creditCount,
        payments: files.paymentCount,
        format: FORMAT,
        export: { dir: files.dir, generatedSeconds: generatedSeconds === null ? null : round(generatedSeconds) },
        copyFloor: { seconds: round(floor.seconds), creditsPerSecond: Math.round(files.creditCount / floor.seconds), paymentsPerSecond: Math.round(files.paymentCount / floor.seconds) },
        import: imported && {
          ...imported,
          creditsPerSecond: Math.round(files.creditCount / imported.commitSeconds),
          paymentsPerSecond: Math.round(files.paymentCount / imported.commitSeconds),
        },
        ratioToCopy: imported && round(imported.commitSeconds / floor.seconds),
        dryRunRatioToCopy: imported && round(imported.dryRunSeconds / floor.seconds),
        loadAverage: { before: loadBefore.map(round), after: loadavg().map(round) },
      },
      null,
      2,
    ),
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
