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

  it('a chunk read by several statements finds the same as one statement, every credit once', async () => {
    const whole = normalised(await checkChunk(ds, ALL, 0));
    // 40 credits 3 at a time (13 full statements, then 1), and 40 at a time (a full statement, then an empty one).
    for (const statementCredits of [3, 40]) {
      const byStatements = { ...ALL, statementCredits };
      expect(normalised(await checkChunk(ds, byStatements, 0))).toEqual(whole);
      const checker = streamingChunkChecker({ url, statementTimeoutMs: 30_000 });
      try {
        const streamed = await checker.check(byStatements);
        expect(normalised(streamed)).toEqual(whole);
        expect(new Set(streamed.proven.creditIds).size).toBe(streamed.proven.creditIds.length);
      } finally {
        await checker.close();
      }
    }
    // Named credits, two statements of one.
    const named = await checkChunk(ds, { ...ALL, creditIds: [drifted[0], drifted[1]], statementCredits: 1 }, 0);
    expect(named.scanned).toBe(2);
    expect(sorted(named.drift.map((d) => d.creditId))).toEqual(sorted([drifted[0], drifted[1]]));
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

// Every field the check compares, drifted on a credit of its own: the check names each of those credits, with the
// field that drifted, and proves every other one, on the calling thread and on a check thread alike.
describe('the recalculation chunk check, drift planted in each field it compares', () => {
  let ds: DataSource;
  let url: string;
  const planted = new Map<string, string>();

  beforeAll(async () => {
    url = await freshDatabase();
    ds = createDataSource(url, 4);
    await ds.initialize();
    await seedPortfolio(ds, { credits: 40, paymentsPerCredit: 3, seed: 11 });
    // Credits whose first payment touches two instalments or more, and an ACTIVE one for the status.
    const credits: Array<{ id: string; payment_id: string; installment_number: number; other_payment: string }> = await ds.query(
      `SELECT c.id, a.payment_id, a.installment_number,
              (SELECT p.id FROM payments p WHERE p.credit_id = c.id AND p.id <> a.payment_id AND p.status = 'APPLIED' LIMIT 1) AS other_payment
         FROM credits c
         JOIN LATERAL (SELECT payment_id, installment_number FROM payment_allocations WHERE credit_id = c.id ORDER BY payment_id, installment_number LIMIT 1) a ON true
        WHERE c.status = 'ACTIVE' AND c.payment_count >= 2
        ORDER BY c.id`,
    );
    const plants: Array<[string, (c: (typeof credits)[number]) => Promise<unknown>]> = [
      ['totalPaid', (c) => ds.query(`UPDATE credits SET total_paid = total_paid + 0.01, balance = balance - 0.01 WHERE id = $1`, [c.id])],
      ['paidInstallments', (c) => ds.query(`UPDATE credits SET paid_installments = paid_installments + 1 WHERE id = $1`, [c.id])],
      ['paymentCount', (c) => ds.query(`UPDATE credits SET payment_count = payment_count + 1 WHERE id = $1`, [c.id])],
      ['lastPaymentDate', (c) => ds.query(`UPDATE credits SET last_payment_date = last_payment_date - 1 WHERE id = $1`, [c.id])],
      ['status', (c) => ds.query(`UPDATE credits SET status = 'PAID_OFF' WHERE id = $1`, [c.id])],
      ['totalPaid', (c) => ds.query(`UPDATE payments SET amount = amount + 0.01 WHERE id = $1`, [c.other_payment])],
      ...(['amount', 'principal', 'interest', 'remaining_for_installment'] as const).map(
        (column): [string, (c: (typeof credits)[number]) => Promise<unknown>] => [
          'allocations',
          (c) => ds.query(`UPDATE payment_allocations SET ${column} = ${column} + 0.01 WHERE payment_id = $1 AND installment_number = $2`, [c.payment_id, c.installment_number]),
        ],
      ),
      ['allocations', (c) => ds.query(`UPDATE payment_allocations SET installment_number = installment_number + 100 WHERE payment_id = $1 AND installment_number = $2`, [c.payment_id, c.installment_number])],
      ['allocations', (c) => ds.query(`DELETE FROM payment_allocations WHERE payment_id = $1 AND installment_number = $2`, [c.payment_id, c.installment_number])],
      [
        'allocations',
        (c) => ds.query(`UPDATE payment_allocations SET payment_id = $3, installment_number = installment_number + 100 WHERE payment_id = $1 AND installment_number = $2`, [c.payment_id, c.installment_number, c.other_payment]),
      ],
    ];
    expect(credits.length).toBeGreaterThan(plants.length + 5);
    for (const [i, [field, plant]] of plants.entries()) {
      await plant(credits[i]);
      planted.set(credits[i].id, field);
    }
    // Consistent, with its allocation rows rewritten backwards (so they come out of the fold's order): still proven.
    await ds.query(
      `WITH gone AS (DELETE FROM payment_allocations WHERE credit_id = $1 RETURNING *)
       INSERT INTO payment_allocations SELECT * FROM gone ORDER BY installment_number DESC, payment_id DESC`,
      [credits[plants.length].id],
    );
  });
  afterAll(async () => {
    await ds?.destroy();
  });

  const expectPlanted = (check: ChunkCheck) => {
    expect(check.scanned).toBe(40);
    expect(sorted(check.drift.map((d) => d.creditId))).toEqual(sorted([...planted.keys()]));
    for (const d of check.drift) expect(d.drift.map((x) => x.field)).toContain(planted.get(d.creditId));
    expect(check.proven.creditIds).toHaveLength(40 - planted.size);
  };

  it('on the calling thread', async () => {
    expectPlanted(await checkChunk(ds, ALL, 0));
  });

  it('on a check thread', async () => {
    const checker = streamingChunkChecker({ url, statementTimeoutMs: 30_000 });
    try {
      expectPlanted(await checker.check(ALL));
    } finally {
      await checker.close();
    }
  });
});
