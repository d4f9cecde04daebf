import type { DataSource } from 'typeorm';

const TABLES = ['credits', 'credit_installments', 'payments', 'payment_allocations', 'idempotency_keys', 'audit_log', 'recalculation_runs', 'recalculation_chunks', 'recalculation_findings'];

/** A fingerprint of every business table: equal before and after means nothing changed. */
export async function snapshot(ds: DataSource): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of TABLES) {
    const rows = await ds.query(`SELECT count(*)::text AS n, coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') AS h FROM ${t} x`);
    out[t] = `${rows[0].n}:${rows[0].h}`;
  }
  return out;
}
