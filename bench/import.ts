// npm run bench:import -- [--credits 1000000] [--format standard|spanish] [--dir DIR] [--seed S] [--skip-import | --floors-only]
//
// A legacy book brought in: a generated legacy export (npm run legacy-export; about 10 payments per credit) and, in
// the same run, its floor: a plain COPY of the two CSV files into staging tables of text columns, nothing parsed or
// computed. Prints JSON with credits/s, payments/s, each phase, the worker's peak RSS and the ratio to the COPY; then,
// beside it, `indexWriteFloor`, `schemaWriteFloor`, `deferredIndexWriteFloor` and `bulkWriteFloor`: the committing run's own rows loaded back by COPY into copies of
// the real tables (see writeFloor).
// An export already in --dir with the same credits, seed and format is reused (its generation is not the import).
//
// The import end to end (a dry run, then the committing run, through the API and a worker process) is `runImport`.
import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync, openAsBlob, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { LegacyMapping, DEFAULT_MAPPING, readMappingFile } from '../src/imports/mapping';
import { LegacyExportFormat, writeLegacyExport } from '../tools/legacy-export';
import { freshBenchDatabase, rssMb, spawnAbonoProcess, startBenchStack, stopProcess } from './stack';
import { FloorKind, tableCopyFloor } from './table-floor';

const { values } = parseArgs({
  options: {
    credits: { type: 'string', default: '1000000' },
    format: { type: 'string', default: 'standard' },
    dir: { type: 'string' },
    seed: { type: 'string', default: '1' },
    'skip-import': { type: 'boolean', default: false },
    'floors-only': { type: 'boolean', default: false },
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
  /** The worker's peak RSS when the dry run (the first run) ended. */
  workerPeakRssMbAfterDryRun: number;
}

/**
 * The hook: import `files` into the database at `databaseUrl` end to end through the API and a worker process of its
 * own: a dry run first (it changes nothing in the book), then the committing run, each timed from the upload to the
 * import's end, with the upload (files streamed into staging) as a phase of its own.
 */
async function runImport(databaseUrl: string, files: ExportFiles, _mapping: LegacyMapping): Promise<ImportFigures | null> {
  const taskQueue = `bench-${randomUUID()}`;
  const stack = await startBenchStack(new URL(databaseUrl).pathname.slice(1), { RUN_WORKER: 'false', TEMPORAL_TASK_QUEUE: taskQueue, RATE_LIMIT_PER_MINUTE: '0' }, { reuse: true });
  const worker = await spawnAbonoProcess('src/worker/main.ts', { DATABASE_URL: stack.databaseUrl, TEMPORAL_ADDRESS: stack.temporalAddress, TEMPORAL_TASK_QUEUE: taskQueue, RECALC_SCHEDULE_ENABLED: 'false' }, '"worker running"');
  const auth = { authorization: `Bearer ${stack.keys.admin}` };
  const run = async (mode: 'DRY_RUN' | 'APPLY') => {
    const form = new FormData();
    if (files.mapping) form.append('mapping', await openAsBlob(files.mapping), 'mapping.yaml');
    form.append('credits', await openAsBlob(files.credits), 'credits.csv');
    form.append('payments', await openAsBlob(files.payments), 'payments.csv');
    const t0 = performance.now();
    const res = await fetch(`${stack.url}/v1/imports?mode=${mode}`, { method: 'POST', headers: auth, body: form });
    const accepted = (await res.json()) as { id: string };
    if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${JSON.stringify(accepted)}`);
    const uploaded = performance.now();
    let view: { status: string; credits: unknown; differences: Record<string, { count: number }> };
    for (;;) {
      view = (await (await fetch(`${stack.url}/v1/imports/${accepted.id}`, { headers: auth })).json()) as typeof view;
      if (view.status !== 'RUNNING' && view.status !== 'RECEIVED') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    if (view.status !== 'COMPLETED') throw new Error(`the ${mode} import ended ${view.status}`);
    const done = performance.now();
    return { uploadSeconds: (uploaded - t0) / 1000, importSeconds: (done - uploaded) / 1000, seconds: (done - t0) / 1000, credits: view.credits };
  };
  try {
    const dry = await run('DRY_RUN');
    const dryRunPeakRssMb = rssMb(worker.pid!, 'VmHWM');
    const commit = await run('APPLY');
    const r = (x: number) => Math.round(x * 100) / 100;
    return {
      commitSeconds: commit.seconds,
      dryRunSeconds: dry.seconds,
      phases: { dryRunUploadAndStage: r(dry.uploadSeconds), dryRunChunks: r(dry.importSeconds), commitUploadAndStage: r(commit.uploadSeconds), commitChunks: r(commit.importSeconds) },
      workerPeakRssMb: rssMb(worker.pid!, 'VmHWM'),
      workerPeakRssMbAfterDryRun: dryRunPeakRssMb,
    };
  } finally {
    await stopProcess(worker);
    await stack.stop();
  }
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

/**
 * What the committing run's rows alone cost PostgreSQL: every row it wrote (credits in their final state, schedules,
 * the import's records, payments, allocations, change marks, audit entries, differences) loaded back by COPY into
 * copies of their tables with the real tables' indexes, foreign keys and audit chain trigger (`schema`), with their
 * indexes only (`bare`), as `schema` with the secondary indexes built once after the load (`deferred`: an empty
 * book's best case), or with the foreign keys added after the load as well (`bulk`, see tableCopyFloor), committed in as many transactions per table as the import had chunks.
 */
async function writeFloor(databaseUrl: string, chunks: number, kind: FloorKind): Promise<{ seconds: number; rows: Record<string, number> }> {
  const applied = `(SELECT id FROM imports WHERE mode = 'APPLY')`;
  return tableCopyFloor(
    databaseUrl,
    [
      { table: 'credits', rows: `SELECT c.* FROM credits c JOIN imported_credits i ON i.credit_id = c.id` },
      { table: 'credit_installments', rows: `SELECT s.* FROM credit_installments s JOIN imported_credits i USING (credit_id)` },
      { table: 'imported_credits', rows: `SELECT * FROM imported_credits` },
      { table: 'payments', rows: `SELECT p.* FROM payments p JOIN imported_credits i USING (credit_id)` },
      { table: 'payment_allocations', rows: `SELECT a.* FROM payment_allocations a JOIN imported_credits i USING (credit_id)` },
      { table: 'credit_changes', rows: `SELECT x.* FROM credit_changes x JOIN imported_credits i USING (credit_id)` },
      { table: 'audit_log', rows: `SELECT * FROM audit_log WHERE action = 'credit.imported'` },
      { table: 'import_differences', rows: `SELECT * FROM import_differences WHERE import_id IN ${applied}` },
    ],
    kind,
    // As many transactions as the import has chunks (IMPORT_CHUNK_CREDITS, 1,000 by default) for each table.
    { slices: chunks },
  );
}

async function main(): Promise<void> {
  if (!Number.isSafeInteger(CREDITS) || CREDITS < 1) throw new Error('--credits must be a whole number ≥ 1');
  const { files, generatedSeconds } = await exportFiles();
  const mapping = files.mapping ? await readMappingFile(files.mapping) : DEFAULT_MAPPING;
  const loadBefore = loadavg();
  const floorDb = await freshBenchDatabase('abono_bench_import_floor');
  const floor = await copyFloor(floorDb, files, mapping);
  if (floor.credits !== files.creditCount || floor.payments !== files.paymentCount) throw new Error(`the COPY loaded ${floor.credits} credits and ${floor.payments} payments; the export holds ${files.creditCount} and ${files.paymentCount}`);
  // --floors-only: the write floors of the book the last run imported (kept in its database), without importing again.
  const floorsOnly = values['floors-only']!;
  const importDb = await freshBenchDatabase('abono_bench_import', floorsOnly);
  const imported = values['skip-import'] || floorsOnly ? null : await runImport(importDb, files, mapping);
  const floors = imported || floorsOnly;
  const chunks = Math.ceil(files.creditCount / 1000);
  const bareFloor = floors ? await writeFloor(importDb, chunks, 'bare') : null;
  const schemaFloor = floors ? await writeFloor(importDb, chunks, 'schema') : null;
  const deferredFloor = floors ? await writeFloor(importDb, chunks, 'deferred') : null;
  const bulkFloor = floors ? await writeFloor(importDb, chunks, 'bulk') : null;
  const ratio = (floor: { seconds: number } | null) => (imported && floor ? round(imported.commitSeconds / floor.seconds) : null);
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
        // Not the issue's floor: PostgreSQL writing the rows the committing run wrote, with nothing computed, into
        // tables with their indexes only, then also with their foreign keys and the audit chain trigger.
        indexWriteFloor: bareFloor && { seconds: round(bareFloor.seconds), commitRatioToIt: ratio(bareFloor) },
        schemaWriteFloor: schemaFloor && { seconds: round(schemaFloor.seconds), rows: schemaFloor.rows, commitRatioToIt: ratio(schemaFloor) },
        // The same with the secondary indexes dropped for the load and built at its end (an empty book's best case),
        deferredIndexWriteFloor: deferredFloor && { seconds: round(deferredFloor.seconds), commitRatioToIt: ratio(deferredFloor) },
        // and with the foreign keys added after the load as well, each checked in one pass.
        bulkWriteFloor: bulkFloor && { seconds: round(bulkFloor.seconds), commitRatioToIt: ratio(bulkFloor) },
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
