import { DataSource } from 'typeorm';
import { CreditDrift, driftOfChunk, loadChunk } from '../../src/db/credit-chunks';
import { FIRST_ID } from '../../src/db/recalculation-chunks';

export type { CreditDrift };

/**
 * The one consistency check: every credit's persisted state and allocations against a
 * recomputation from its ledger. Read-only; walks credits in keyset order, a page at a time,
 * each page read by the recalculation's chunk statement (one statement, so one snapshot).
 */
export async function findInconsistentCredits(ds: DataSource, opts: { creditIds?: string[]; pageSize?: number } = {}): Promise<{ scanned: number; inconsistent: CreditDrift[] }> {
  const pageSize = opts.pageSize ?? 500;
  const inconsistent: CreditDrift[] = [];
  let scanned = 0;
  let after = FIRST_ID;
  for (;;) {
    // The page's last id bounds the chunk: (after, last].
    const [last]: Array<{ id: string }> = opts.creditIds
      ? await ds.query(`SELECT id FROM credits WHERE id = ANY($1::uuid[]) AND id > $2 ORDER BY id OFFSET $3 - 1 LIMIT 1`, [opts.creditIds, after, pageSize])
      : await ds.query(`SELECT id FROM credits WHERE id > $1 ORDER BY id OFFSET $2 - 1 LIMIT 1`, [after, pageSize]);
    const page = await loadChunk(ds, { lo: after, hi: last?.id ?? 'ffffffff-ffff-ffff-ffff-ffffffffffff', creditIds: opts.creditIds });
    if (page.length === 0) break;
    inconsistent.push(...driftOfChunk(page));
    scanned += page.length;
    if (!last) break;
    after = last.id;
  }
  return { scanned, inconsistent };
}
