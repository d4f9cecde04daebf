// The recalculation's chunk check gives the same answer on a check thread as on the calling thread:
// the thread's body (streamingChunkChecker) run here in process, and through real worker threads.
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { checkChunk, ChunkCheck, streamingChunkChecker } from '../../src/db/chunk-check';
import { createDataSource } from '../../src/db/data-source';
import { FIRST_ID } from '../../src/domain/keyset';
import { seedPortfolio } from '../../tools/seed';
import { freshDatabase } from '../support/harness';

const LAST_ID = 'ffffffff-ffff-ffff-ffff-ffffffffffff';
const ALL = { lo: FIRST_ID, hi: LAST_ID };
const sorted = (ids: string[]) => [...ids].sort();
/** The same check, compared without the order the rows came in. */
const normalised = (c: ChunkCheck) => ({
  scanned: c.scanned,
  drift: [...c.drift].sort((a, b) => a.creditId.localeCompare(b.creditId)),
  proven: sorted(c.proven.creditIds.map((id, i) => `${id} ${c.proven.changeSeqs[i]}`)),
});

describe('the recalculation chunk check', () => {
  let url: string;
  let ds: DataSource;
  let drifted: string[];

  beforeAll(async () => {
    url = await freshDatabase();
    ds = createDataSource(url, 8);
    await ds.initialize();
    const seeded = await seedPortfolio(ds, { credits: 40, paymentsPerCredit: 3, drift: 4, seed: 7 });
    drifted = seeded.driftedCreditIds;
    expect(drifted).toHaveLength(4);
  });
  afterAll(async () => {
    await ds?.destroy();
  });

  it('on the calling thread: scans every credit, finds the drifted ones, proves the rest', async () => {
    const inline = await checkChunk(ds, ALL, 0);
    expect(inline.scanned).toBe(40);
    expect(sorted(inline.drift.map((d) => d.creditId))).toEqual(sorted(drifted));
    expect(inline.proven.creditIds).toHaveLength(36);
    expect(inline.proven.creditIds.some((id) => drifted.includes(id))).toBe(false);
    for (const d of inline.drift) expect(d.drift.length).toBeGreaterThan(0);
  });

  it("a check thread's body finds the same, chunk after chunk, over one connection", async () => {
    const checker = streamingChunkChecker({ url, statementTimeoutMs: 30_000 });
    try {
      const inline = await checkChunk(ds, ALL, 0);
      expect(normalised(await checker.check(ALL))).toEqual(normalised(inline));
      // Named credits only.
      const some = { ...ALL, creditIds: [drifted[0], inline.proven.creditIds[0]] };
      const named = await checker.check(some);
      expect(named.scanned).toBe(2);
      expect(named.drift.map((d) => d.creditId)).toEqual([drifted[0]]);
      expect(named.proven.creditIds).toEqual([inline.proven.creditIds[0]]);
      expect(await backends()).toBe(1);
    } finally {
      await checker.close();
    }
    // Its backend leaves pg_stat_activity shortly after the connection closes.
    const deadline = Date.now() + 30_000;
    while ((await backends()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await backends()).toBe(0);
  });

  it('real check threads find the same', async () => {
    expect(normalised(await checkChunk(ds, ALL, 2))).toEqual(normalised(await checkChunk(ds, ALL, 0)));
  });

  it('goes on after the database drops its connection: at most the chunk then running fails', async () => {
    const checker = streamingChunkChecker({ url, statementTimeoutMs: 0 });
    try {
      expect((await checker.check(ALL)).scanned).toBe(40);
      await terminateBackends();
      let failures = 0;
      let result: ChunkCheck | undefined;
      for (let attempt = 0; attempt < 2 && !result; attempt++) {
        result = await checker.check(ALL).catch(() => {
          failures++;
          return undefined;
        });
      }
      expect(failures).toBeLessThanOrEqual(1);
      expect(result?.scanned).toBe(40);
    } finally {
      await checker.close();
    }
  });

  it('fails a chunk when the database cannot be reached', async () => {
    const unreachable = new URL(url);
    unreachable.port = '1';
    const checker = streamingChunkChecker({ url: unreachable.toString(), statementTimeoutMs: 0 });
    await expect(checker.check(ALL)).rejects.toThrow(/ECONNREFUSED/);
    await checker.close();
  });

  async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  }
  const backends = () =>
    admin(async (c) => Number((await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'abono-recalculation'`)).rows[0].n));
  const terminateBackends = () =>
    admin((c) => c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'abono-recalculation'`));
});
