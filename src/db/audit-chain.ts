import { DataSource } from 'typeorm';

/**
 * Verification of the tamper-evident audit log (migration 1732000000001-AuditChain).
 *
 * Every entry stores `hash = audit_entry_hash(prev_hash, content)` and the hash of the entry
 * before it in its chain (one chain per credit, one `global` chain). Walking each chain in id
 * order finds:
 * - CONTENT_CHANGED: the entry's content no longer gives its stored hash (edited in place);
 * - LINK_BROKEN: its prev_hash is not the hash of the entry before it (an entry was deleted or
 *   inserted, or the chain was re-linked);
 * - CHAIN_CHANGED: its chain column does not match its credit_id (moved to another chain).
 * The walk reads the log a page at a time in (chain, id) keyset order, so memory stays bounded
 * whatever the size of the log. The hash is computed by PostgreSQL with the same SQL function
 * the insert trigger uses.
 */
export type BreakReason = 'CONTENT_CHANGED' | 'LINK_BROKEN' | 'CHAIN_CHANGED' | 'NOT_LINKED';

export interface ChainBreak {
  id: string;
  chain: string | null;
  reason: BreakReason;
  detail: string;
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  chains: number;
  /** How many entries are broken; each tampering usually breaks exactly one. */
  broken: number;
  /** The broken entry with the lowest id. */
  firstBreak?: ChainBreak;
}

interface Row {
  id: string;
  chain: string;
  prev_hash: string | null;
  hash: string;
  recomputed: string;
  expected_chain: string;
}

const COLUMNS = `a.id::text AS id, chain, prev_hash, hash,
  audit_entry_hash(prev_hash, id, chain, occurred_at, action, credit_id, payment_id, actor, workflow_id, run_id, dedupe_key, details) AS recomputed,
  coalesce(credit_id::text, 'global') AS expected_chain`;

const lowerId = (a: string, b: string) => (BigInt(a) < BigInt(b) ? a : b);

export async function verifyAuditChain(ds: DataSource, opts: { pageSize?: number } = {}): Promise<AuditVerification> {
  const pageSize = opts.pageSize ?? 5000;
  let entries = 0;
  let chains = 0;
  let broken = 0;
  let firstBreak: ChainBreak | undefined;
  const found = (b: ChainBreak) => {
    broken += 1;
    if (!firstBreak || lowerId(firstBreak.id, b.id) === b.id) firstBreak = b;
  };

  // Entries outside every chain (only possible with the NOT NULL constraints dropped).
  const unlinked: Array<{ id: string; n: number }> = await ds.query(
    `SELECT min(id)::text AS id, count(*)::int AS n FROM audit_log WHERE chain IS NULL OR hash IS NULL HAVING count(*) > 0`,
  );
  if (unlinked[0]) {
    broken += unlinked[0].n - 1;
    found({ id: unlinked[0].id, chain: null, reason: 'NOT_LINKED', detail: 'the entry has no chain or no hash' });
  }

  let cursor: { chain: string; id: string } | undefined;
  let prevHash: string | null = null;
  for (;;) {
    const page: Row[] = cursor
      ? await ds.query(`SELECT ${COLUMNS} FROM audit_log a WHERE (a.chain, a.id) > ($1, $2::bigint) ORDER BY a.chain, a.id LIMIT $3`, [cursor.chain, cursor.id, pageSize])
      : await ds.query(`SELECT ${COLUMNS} FROM audit_log a WHERE a.chain IS NOT NULL ORDER BY a.chain, a.id LIMIT $1`, [pageSize]);
    for (const r of page) {
      const first = !cursor || cursor.chain !== r.chain;
      if (first) {
        chains += 1;
        prevHash = null;
      }
      entries += 1;
      if (r.recomputed !== r.hash) {
        found({ id: r.id, chain: r.chain, reason: 'CONTENT_CHANGED', detail: 'its content no longer matches its hash: the entry was altered' });
      } else if (r.prev_hash !== prevHash) {
        found({
          id: r.id,
          chain: r.chain,
          reason: 'LINK_BROKEN',
          detail: first
            ? 'it is the first entry of its chain but links to an earlier one: entries before it were deleted'
            : 'its prev_hash does not match the entry before it: an entry was deleted or inserted',
        });
      } else if (r.chain !== r.expected_chain) {
        found({ id: r.id, chain: r.chain, reason: 'CHAIN_CHANGED', detail: `its chain does not match its credit (${r.expected_chain})` });
      }
      // Continue from what the entry claims, so one tampering is reported once.
      prevHash = r.hash;
      cursor = { chain: r.chain, id: r.id };
    }
    if (page.length < pageSize) break;
  }
  return { ok: broken === 0, entries, chains, broken, firstBreak };
}

/** The one-line summary `audit verify` prints. */
export function describeVerification(v: AuditVerification): string {
  const size = `${v.entries} ${v.entries === 1 ? 'entry' : 'entries'} in ${v.chains} ${v.chains === 1 ? 'chain' : 'chains'}`;
  if (v.ok) return `audit log intact: ${size} verified`;
  const b = v.firstBreak!;
  const more = v.broken > 1 ? ` (${v.broken} broken entries in all)` : '';
  return `audit log BROKEN: first broken entry id ${b.id}, chain ${b.chain ?? '(none)'}: ${b.reason} - ${b.detail}${more}; ${size} checked`;
}
