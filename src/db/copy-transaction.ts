import type { Pool, PoolClient } from 'pg';
import type { DataSource } from 'typeorm';

/**
 * Runs `work` in one transaction on a pooled connection of its own (what COPY FROM STDIN needs), committing when
 * it succeeds and rolling back when it throws. A connection whose COPY was cut off mid-way is not handed back to
 * the pool. Payment files and imports record their rows through here: whole, or not at all.
 */
/** A file of 1,000,000 lines COPYs for minutes: longer than the pool's default statement limit. */
const COPY_STATEMENT_TIMEOUT_MS = 15 * 60_000;

export async function inCopyTransaction<T>(ds: DataSource, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const pool = (ds.driver as unknown as { master: Pool }).master;
  const client = await pool.connect();
  let failed = false;
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL statement_timeout = ${COPY_STATEMENT_TIMEOUT_MS}`);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    failed = true;
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release(failed ? true : undefined);
  }
}
