import type { EntityManager } from 'typeorm';
import { rowsFrom, type Statement } from './statement';

/**
 * The verification marks (DESIGN.md §11): which credits changed since they were last proven consistent, and
 * when each was last proven. The mark is written by the ledger's one writer of credit state, in the same
 * statement; a batch clears it by compare-and-clear on the change sequence it read, so a change that lands
 * while the batch reads the credit keeps it marked for the next night.
 */

type Query = Pick<EntityManager, 'query'>;

/** The mark: a new change sequence for each credit (a row if it had none), for one credit or a file's chunk's many. */
export function markManyChanged(creditIds: string[]): Statement {
  const from = rowsFrom([['id', 'uuid', creditIds]]);
  return {
    sql: `INSERT INTO credit_changes (credit_id, change_seq)
          SELECT u.id, nextval('credit_change_seq') FROM ${from.sql}
          ON CONFLICT (credit_id) DO UPDATE SET change_seq = excluded.change_seq, changed_at = now()`,
    params: from.params,
  };
}

/**
 * Marks every credit that is neither verified nor marked (credits loaded around the one writer of new credit rows,
 * e.g. by the portfolio seeder's COPY), so that the next INCREMENTAL night proves them; answers how many (`n`).
 */
export const MARK_UNVERIFIED = `WITH marked AS (
    INSERT INTO credit_changes (credit_id, change_seq)
    SELECT c.id, nextval('credit_change_seq') FROM credits c
     WHERE NOT EXISTS (SELECT 1 FROM credit_verifications v WHERE v.credit_id = c.id)
    ON CONFLICT (credit_id) DO NOTHING
    RETURNING 1)
  SELECT count(*)::int AS n FROM marked`;

/** Credits a check found consistent, with the change sequence it read (null: none was marked). */
export interface Proven {
  creditIds: string[];
  changeSeqs: Array<string | null>;
}

/**
 * Records that a batch proved these credits consistent, and clears each one's mark only if it is still the
 * change the batch read. One statement, so a retried chunk writes the same thing again.
 */
export async function recordProven(q: Query, runId: string, proven: Proven): Promise<void> {
  if (proven.creditIds.length === 0) return;
  await q.query(
    `WITH proven AS (SELECT * FROM unnest($2::uuid[], $3::bigint[]) AS p(credit_id, change_seq)),
          cleared AS (DELETE FROM credit_changes x USING proven p WHERE x.credit_id = p.credit_id AND x.change_seq = p.change_seq)
     INSERT INTO credit_verifications (credit_id, verified_at, run_id)
     SELECT credit_id, now(), $1 FROM proven
     ON CONFLICT (credit_id) DO UPDATE SET verified_at = excluded.verified_at, run_id = excluded.run_id`,
    [runId, proven.creditIds, proven.changeSeqs],
  );
}

/** Due credits added per statement when choosing a scope: each statement stays well inside the statement timeout. */
const SCOPE_PAGE_CREDITS = 50_000;

/**
 * The credits an INCREMENTAL batch checks, chosen once (a retried step adds nothing it already chose), reading only
 * them: every marked credit (the marks' table, whole; a credit never verified is marked since its creation), then
 * the rolling slice, every credit last proven before `dueBefore`, oldest first by the index range over
 * `(verified_at, credit_id)`, a page at a time, calling `progress` after each. Returns how many credits are in scope.
 */
export async function chooseIncrementalScope(q: Query, runId: string, dueBefore: Date, progress: () => void = () => {}, pageCredits = SCOPE_PAGE_CREDITS): Promise<number> {
  await q.query(`INSERT INTO recalculation_scope (run_id, credit_id) SELECT $1, credit_id FROM credit_changes ON CONFLICT DO NOTHING`, [runId]);
  progress();
  for (let after: { at: string; id: string } | null = null; ; ) {
    // The page's last verification as text: a Date would drop its microseconds, and the keyset would not move.
    const page: Array<{ at: string; id: string }> = await q.query(
      `WITH due AS (
         SELECT verified_at, credit_id FROM credit_verifications
          WHERE verified_at < $2 AND ($3::timestamptz IS NULL OR (verified_at, credit_id) > ($3, $4::uuid))
          ORDER BY verified_at, credit_id LIMIT $5),
       chosen AS (INSERT INTO recalculation_scope (run_id, credit_id) SELECT $1, credit_id FROM due ON CONFLICT DO NOTHING)
       SELECT verified_at::text AS at, credit_id AS id FROM due ORDER BY verified_at DESC, credit_id DESC LIMIT 1`,
      [runId, dueBefore, after?.at ?? null, after?.id ?? null, pageCredits],
    );
    progress();
    if (!page[0]) break;
    after = page[0];
  }
  const [r] = await q.query(`SELECT count(*)::int AS n FROM recalculation_scope WHERE run_id = $1`, [runId]);
  return r.n;
}

/**
 * The rolling window's edge for a batch started at `startedAt`: a credit last proven before the start of the
 * day `fullEveryDays − 2` days ahead of the batch's day is due tonight, so no credit waits `fullEveryDays` days.
 */
export function dueBefore(startedAt: Date, fullEveryDays: number): Date {
  const day = Date.UTC(startedAt.getUTCFullYear(), startedAt.getUTCMonth(), startedAt.getUTCDate());
  return new Date(day - (fullEveryDays - 2) * 86_400_000);
}

/** A finished batch's scope is no longer needed (its findings and chunks stay). */
export async function forgetScope(q: Query, runId: string): Promise<void> {
  await q.query(`DELETE FROM recalculation_scope WHERE run_id = $1`, [runId]);
}
