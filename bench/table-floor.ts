// A workload's write floor: the rows it wrote, copied out and loaded back by COPY into copies of their tables, with
// nothing computed. Shared by bench:batches (a payment file's rows) and bench:import (an imported
// book's rows).
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

type SqlStep = (c: Client, prefix: string) => Promise<void>;
export type FloorKind = 'bare' | 'schema' | 'deferred' | 'bulk';

/** A table whose rows the workload wrote, and the SELECT that finds them (loaded in the order given). */
export interface FloorTable {
  table: string;
  rows: string;
}

/**
 * `bare`: the copies keep their tables' indexes only. `schema`: also their foreign keys (to the copy when the table
 * referenced is copied too, else to the real one) and, on the audit log, the chain trigger (its own function, reading
 * and numbering the copy): what the real tables hold every such row to, and no writer of them can skip. `deferred`:
 * as `schema`, but the copies' non-unique indexes (but the audit log's) are dropped before the load and built after it
 * (timed): the cost of a bulk load into empty tables that builds its secondary indexes once at the end. `bulk`: as
 * `deferred`, and the foreign keys are added after the load too, each checked in one pass (timed): the least a load
 * that still ends with every constraint checked could take, though not how abono writes its ledger.
 * `also.timed` runs inside the timed transaction after the COPYs (a workload's UPDATEs of rows it did not insert), after
 * `also.setup` has prepared what it needs, untimed. `also.slices` splits each table's rows into that many transactions,
 * one after another (a workload that commits in chunks: the chain trigger takes a lock per credit's chain, which one
 * transaction of a whole book's entries would run out of). Answers the seconds timed and the rows loaded per table.
 */
export async function tableCopyFloor(
  databaseUrl: string,
  tables: FloorTable[],
  kind: FloorKind,
  also: { setup?: SqlStep; timed?: SqlStep; slices?: number } = {},
): Promise<{ seconds: number; rows: Record<string, number> }> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  const prefix = `floor_${kind}_`;
  const constrained = kind !== 'bare';
  const deferredIndexes: string[] = [];
  const deferredKeys: string[] = [];
  const copied = new Set(tables.map((t) => t.table));
  try {
    const dumps: Array<[string, Buffer]> = [];
    for (const { table, rows } of tables) {
      await c.query(`DROP TABLE IF EXISTS ${prefix}${table} CASCADE`);
      await c.query(`CREATE TABLE ${prefix}${table} (LIKE ${table} INCLUDING DEFAULTS INCLUDING INDEXES${constrained ? ' INCLUDING CONSTRAINTS' : ''})`);
      // The audit log keeps its indexes: the chain trigger looks up each chain's head by one of them on every insert.
      if ((kind === 'deferred' || kind === 'bulk') && table !== 'audit_log') {
        const secondary = (await c.query(`SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = $1::regclass AND NOT indisunique`, [`${prefix}${table}`])).rows;
        for (const { name, def } of secondary as Array<{ name: string; def: string }>) {
          await c.query(`DROP INDEX ${name}`);
          deferredIndexes.push(def);
        }
      }
      const chunks: Buffer[] = [];
      await pipeline(c.query(copyTo(`COPY (${rows}) TO STDOUT`)), async function* (src: AsyncIterable<Buffer>) {
        for await (const b of src) chunks.push(b);
      });
      dumps.push([table, Buffer.concat(chunks)]);
    }
    if (constrained) {
      for (const { table } of tables) {
        const fks = (await c.query(`SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'f'`, [table])).rows;
        for (const { def } of fks as Array<{ def: string }>) {
          const onCopy = def.replace(/REFERENCES (\w+)\(/, (all, t: string) => (copied.has(t) ? `REFERENCES ${prefix}${t}(` : all));
          const add = `ALTER TABLE ${prefix}${table} ADD ${onCopy}`;
          if (kind === 'bulk') deferredKeys.push(add);
          else await c.query(add);
        }
      }
      if (copied.has('audit_log')) {
        const [{ def }] = (await c.query(`SELECT pg_get_functiondef('audit_log_link'::regproc) AS def`)).rows;
        await c.query(`CREATE SEQUENCE IF NOT EXISTS ${prefix}audit_seq`);
        await c.query(
          (def as string)
            .replace('public.audit_log_link()', `${prefix}audit_link()`)
            .replace('FROM audit_log a', `FROM ${prefix}audit_log a`)
            .replace("'audit_log_id_seq'", `'${prefix}audit_seq'`),
        );
        await c.query(`CREATE TRIGGER ${prefix}audit_link BEFORE INSERT ON ${prefix}audit_log FOR EACH ROW EXECUTE FUNCTION ${prefix}audit_link()`);
      }
    }
    await also.setup?.(c, prefix);
    const t0 = performance.now();
    const slices = also.slices ?? 1;
    await c.query('BEGIN');
    for (const [t, data] of dumps) {
      for (const slice of slicesOf(data, slices)) {
        await pipeline(Readable.from([slice]), c.query(copyFrom(`COPY ${prefix}${t} FROM STDIN`)));
        if (slices > 1) await c.query('COMMIT; BEGIN');
      }
    }
    for (const def of deferredIndexes) await c.query(def);
    for (const add of deferredKeys) await c.query(add);
    await also.timed?.(c, prefix);
    await c.query('COMMIT');
    const seconds = (performance.now() - t0) / 1000;
    const rows: Record<string, number> = {};
    for (const { table } of tables) rows[table] = Number((await c.query(`SELECT count(*)::bigint AS n FROM ${prefix}${table}`)).rows[0].n);
    return { seconds, rows };
  } finally {
    await c.end();
  }
}

/** COPY text split into `n` parts of about as many rows each (a row is one line: COPY escapes newlines in values). */
function slicesOf(data: Buffer, n: number): Buffer[] {
  if (n <= 1) return [data];
  const out: Buffer[] = [];
  const step = Math.ceil(data.length / n);
  for (let start = 0; start < data.length; ) {
    const nl = data.indexOf(10, Math.min(start + step, data.length - 1));
    const end = nl < 0 ? data.length : nl + 1;
    out.push(data.subarray(start, end));
    start = end;
  }
  return out;
}
