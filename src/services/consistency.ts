import { DataSource } from 'typeorm';
import { StateDrift } from '../domain';
import { CreditRow } from '../db/rows';
import { driftOfBatch, loadCreditBatch } from './ledger';

export interface CreditDrift {
  creditId: string;
  drift: StateDrift[];
}

/**
 * The one consistency check: every credit's persisted state and allocations against a
 * recomputation from its ledger. Read-only; walks credits in keyset order, a page at a time.
 */
export async function findInconsistentCredits(ds: DataSource, opts: { creditIds?: string[]; pageSize?: number } = {}): Promise<{ scanned: number; inconsistent: CreditDrift[] }> {
  const pageSize = opts.pageSize ?? 500;
  const inconsistent: CreditDrift[] = [];
  let scanned = 0;
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const page: CreditRow[] = opts.creditIds
      ? await ds.query(`SELECT * FROM credits WHERE id = ANY($1::uuid[]) AND id > $2 ORDER BY id LIMIT $3`, [opts.creditIds, after, pageSize])
      : await ds.query(`SELECT * FROM credits WHERE id > $1 ORDER BY id LIMIT $2`, [after, pageSize]);
    if (page.length === 0) break;
    // One snapshot for the page's rows and their ledgers.
    const batch = await ds.transaction('REPEATABLE READ', async (m) => {
      const rows: CreditRow[] = await m.query(`SELECT * FROM credits WHERE id = ANY($1::uuid[])`, [page.map((c) => c.id)]);
      return loadCreditBatch(m, rows);
    });
    const drifted = driftOfBatch(batch);
    for (const [creditId, drift] of drifted) inconsistent.push({ creditId, drift });
    scanned += page.length;
    after = page[page.length - 1].id;
  }
  return { scanned, inconsistent };
}
