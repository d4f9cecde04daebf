import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { EntityManager } from 'typeorm';

/** One SQL statement with its parameters ($1, $2, …). */
export interface Statement {
  sql: string;
  params: unknown[];
}

/**
 * Runs INSERT/UPDATE statements as one statement of data-modifying CTEs: one round trip to the
 * database and atomic even outside a transaction. Each statement keeps its own $n numbering.
 * PostgreSQL runs every CTE to completion; no two may change the same row. `answer` is the final
 * SELECT, which may read the statements' RETURNING rows as s0, s1, …; its rows are returned.
 */
export async function runAsOne<T = unknown>(m: Pick<EntityManager, 'query'>, statements: Statement[], answer?: string): Promise<T[]> {
  if (statements.length === 0) return []; // nothing to write (`WITH SELECT 1` is not SQL)
  if (statements.length === 1 && answer === undefined) {
    await m.query(statements[0].sql, statements[0].params);
    return [];
  }
  const parts: string[] = [];
  const params: unknown[] = [];
  statements.forEach((st, i) => {
    const offset = params.length;
    parts.push(`s${i} AS (${st.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`)})`);
    params.push(...st.params);
  });
  return m.query(`WITH ${parts.join(',\n')} ${answer ?? 'SELECT 1'}`, params);
}

/**
 * Rows as the FROM source of a statement, one array of values per column: `unnest` of one array parameter per
 * column, or, for a single row, a VALUES list of plain parameters (no arrays to build, send and parse: the single
 * payment's path writes one row at a time). Parameters are numbered from `first`. Columns are named `u.<name>`.
 */
export function rowsFrom(columns: Columns, first = 1): { sql: string; params: unknown[] } {
  const names = columns.map(([n]) => n).join(', ');
  if (columns[0][2].length === 1) {
    return { sql: `(VALUES (${columns.map(([, t], i) => `$${first + i}::${t}`).join(', ')})) AS u(${names})`, params: columns.map(([, , v]) => v[0]) };
  }
  return { sql: `unnest(${columns.map(([, t], i) => `$${first + i}::${t}[]`).join(', ')}) AS u(${names})`, params: columns.map(([, , v]) => v) };
}

/** Rows given by column, as `rowsFrom` takes them: name, SQL type, one value per row. */
export type Columns = Array<[name: string, type: string, values: unknown[]]>;

/** CSV text gathered before it is sent to COPY. */
const COPY_CHUNK_CHARS = 256 * 1024;

/** A COPY csv field: null is NULL (empty, unquoted), an empty string is `""`, and a Date its ISO text. */
function copyField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = v instanceof Date ? v.toISOString() : String(v);
  return s === '' || /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The bulk path of the writers: the same columns a statement would take from `rowsFrom`, COPYed into `table` on the
 * caller's transaction's connection (many thousands of rows at a fraction of an INSERT's cost: no arrays to build,
 * send and parse). Row triggers and constraints run as for an INSERT; there is no ON CONFLICT, so a writer uses it
 * for rows that must be new.
 */
export async function copyRows(m: EntityManager, table: string, columns: Columns): Promise<void> {
  const n = columns[0]?.[2].length ?? 0;
  if (n === 0) return;
  const client = (await m.queryRunner!.connect()) as PoolClient;
  async function* text(): AsyncGenerator<string> {
    let chunk = '';
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < columns.length; c++) chunk += (c === 0 ? '' : ',') + copyField(columns[c][2][r]);
      chunk += '\n';
      if (chunk.length >= COPY_CHUNK_CHARS) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  await pipeline(Readable.from(text()), client.query(copyFrom(`COPY ${table} (${columns.map(([c]) => c).join(', ')}) FROM STDIN WITH (FORMAT csv)`)));
}
