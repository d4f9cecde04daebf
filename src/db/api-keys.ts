import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';

export type Role = 'viewer' | 'operator' | 'admin';
export const roleRank: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export interface Principal {
  keyId: string;
  name: string;
  role: Role;
}

/** Keys carry 256 random bits, so one SHA-256 is enough to store them safely. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Creates a key; the clear key is returned once and never stored. */
export async function createApiKey(ds: DataSource, name: string, role: Role, key = `abono_${randomBytes(32).toString('base64url')}`) {
  const id = randomUUID();
  await ds.query(`INSERT INTO api_keys (id, name, role, key_hash) VALUES ($1,$2,$3,$4)`, [id, name, role, hashApiKey(key)]);
  return { id, name, role, key };
}

export async function listApiKeys(ds: DataSource) {
  return ds.query(`SELECT id, name, role, created_at, last_used_at, revoked_at FROM api_keys ORDER BY created_at`);
}

export async function revokeApiKey(ds: DataSource, id: string): Promise<boolean> {
  const rows = await ds.query(`WITH r AS (UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id) SELECT * FROM r`, [id]);
  // This process forgets the key at once; others within their cache window (API_KEY_CACHE_MS).
  forgetApiKeys(ds);
  return rows.length > 0;
}

/** One key's name, role and revocation time (never its hash). */
export async function findApiKey(ds: DataSource, id: string): Promise<{ name: string; role: Role; revoked_at: unknown } | undefined> {
  const rows: Array<{ name: string; role: Role; revoked_at: unknown }> = await ds.query(`SELECT name, role, revoked_at FROM api_keys WHERE id = $1`, [id]);
  return rows[0];
}

export async function countApiKeys(ds: DataSource): Promise<number> {
  const rows: Array<{ n: string }> = await ds.query(`SELECT count(*) AS n FROM api_keys`);
  return Number(rows[0].n);
}

/**
 * The hot path's key cache, one per DataSource (so per database). A lookup, found or not, is
 * reused for `ttlMs`: a key revoked by another process stops working within that window; one
 * revoked through this process (revokeApiKey) at once. Bounded: unknown keys sprayed at the API
 * cannot grow it past MAX_ENTRIES.
 */
interface KeyCache {
  ttlMs: number;
  entries: Map<string, { principal: Principal | undefined; expires: number }>;
  /** keyId → when this process last wrote last_used_at. */
  touched: Map<string, number>;
}
const MAX_ENTRIES = 10_000;
/** last_used_at is written at most this often per key and process. */
export const LAST_USED_RESOLUTION_MS = 60_000;
export const DEFAULT_KEY_CACHE_MS = 5000;
const caches = new WeakMap<DataSource, KeyCache>();

function cacheOf(ds: DataSource): KeyCache {
  let c = caches.get(ds);
  if (!c) caches.set(ds, (c = { ttlMs: DEFAULT_KEY_CACHE_MS, entries: new Map(), touched: new Map() }));
  return c;
}

/** Sets how long this process reuses a key lookup (API_KEY_CACHE_MS; 0 = look up every request). */
export function configureApiKeyCache(ds: DataSource, opts: { ttlMs: number }): void {
  cacheOf(ds).ttlMs = opts.ttlMs;
}

/** Drops every cached lookup of this process (after a revocation). */
export function forgetApiKeys(ds: DataSource): void {
  cacheOf(ds).entries.clear();
}

/** Looks a presented key up; revoked and unknown keys are both undefined. One indexed SELECT, cached briefly. */
export async function authenticate(ds: DataSource, key: string): Promise<Principal | undefined> {
  const cache = cacheOf(ds);
  const hash = hashApiKey(key);
  const now = Date.now();
  const hit = cache.entries.get(hash);
  let principal: Principal | undefined;
  if (hit && hit.expires > now) {
    principal = hit.principal;
  } else {
    const rows: Array<{ id: string; name: string; role: Role }> = await ds.query(
      `SELECT id, name, role FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
      [hash],
    );
    const r = rows[0];
    principal = r ? { keyId: r.id, name: r.name, role: r.role } : undefined;
    if (cache.ttlMs > 0) {
      cache.entries.delete(hash);
      if (cache.entries.size >= MAX_ENTRIES) cache.entries.delete(cache.entries.keys().next().value!);
      cache.entries.set(hash, { principal, expires: now + cache.ttlMs });
    }
  }
  if (principal) touchLastUsed(ds, cache, principal.keyId, now);
  return principal;
}

/** Fire-and-forget: at most one write per key per minute per process, none when another process just wrote. */
function touchLastUsed(ds: DataSource, cache: KeyCache, keyId: string, now: number): void {
  const last = cache.touched.get(keyId);
  if (last !== undefined && now - last < LAST_USED_RESOLUTION_MS) return;
  if (cache.touched.size >= MAX_ENTRIES) cache.touched.clear();
  cache.touched.set(keyId, now);
  ds.query(
    `UPDATE api_keys SET last_used_at = now()
      WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2))`,
    [keyId, LAST_USED_RESOLUTION_MS / 1000],
  ).catch(() => {
    // Best effort: a lost last_used_at write never fails a request.
  });
}
