import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient } from 'pg';
import QueryStream from 'pg-query-stream';
import type { DataSource } from 'typeorm';

/** Rows fetched per round trip of the server-side cursor. */
export const CSV_BATCH_ROWS = 2000;
/** CSV text gathered before it is written out. */
const CSV_CHUNK_CHARS = 64 * 1024;


const NEEDS_QUOTES: Record<string, RegExp> = { ',': /[",\r\n]/, ';': /[";\r\n]/, '|': /["|\r\n]/, '\t': /["\t\r\n]/ };

/** RFC 4180 field: quoted when it holds the delimiter (a comma unless said), a quote, CR or LF; quotes doubled. null → empty. */
export function csvField(v: unknown, delimiter = ','): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return NEEDS_QUOTES[delimiter].test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(values: unknown[], delimiter = ','): string {
  return values.map((v) => csvField(v, delimiter)).join(delimiter) + '\r\n';
}

/**
 * Runs `sql` through a server-side cursor on one connection of the DataSource's pool and writes CSV to `out`
 * with backpressure (pipeline awaits `out`'s drain before fetching the next batch).
 */
export async function streamCsv(
  ds: DataSource,
  sql: string,
  params: unknown[],
  columns: string[],
  map: (row: Record<string, unknown>) => Record<string, unknown>,
  out: Writable,
): Promise<void> {
  const pool = (ds.driver as unknown as { master: Pool }).master;
  const client: PoolClient = await pool.connect();
  let failed: Error | undefined;
  try {
    const rows = client.query(new QueryStream(sql, params, { batchSize: CSV_BATCH_ROWS, highWaterMark: CSV_BATCH_ROWS }));
    await pipeline(
      rows,
      async function* (source: AsyncIterable<Record<string, unknown>>) {
        let chunk = csvLine(columns);
        for await (const row of source) {
          const obj = map(row);
          chunk += csvLine(columns.map((c) => obj[c]));
          if (chunk.length >= CSV_CHUNK_CHARS) {
            yield chunk;
            chunk = '';
          }
        }
        if (chunk) yield chunk;
      },
      out,
    );
  } catch (err) {
    failed = err as Error;
    throw err;
  } finally {
    // A connection whose cursor was cut off mid-way is not handed back to the pool.
    client.release(failed ? true : undefined);
  }
}

