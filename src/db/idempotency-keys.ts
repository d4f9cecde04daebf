import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { PaymentRequest } from '../workflows/types';

/** The Idempotency-Key records: one key, one request (by its hash), one payment. */

/** The payment id is derived from the idempotency key, so one key is one payment and one workflow. */
export function paymentIdForKey(key: string): string {
  return keyedUuid('payment', key);
}

/** A name-based UUID (version 5 layout, sha256) for a key in one of abono's key spaces. */
export function keyedUuid(space: string, key: string): string {
  const h = createHash('sha256').update(`abono:${space}:${key}`).digest('hex');
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A request's fingerprint: the same payment sent as a file line or to POST /v1/payments hashes the same. */
export function requestHash(body: { creditId: string; amount: string; paymentDate?: string | null; reference?: string | null }): string {
  const canonical = JSON.stringify([body.creditId, body.amount, body.paymentDate ?? null, body.reference ?? null]);
  return createHash('sha256').update(canonical).digest('hex');
}

export interface KeyRecord {
  key: string;
  requestHash: string;
  request: PaymentRequest;
}

/** Records a new key for an existing credit in one round trip; false when the key exists or the credit does not. */
export async function recordKey(ds: DataSource, r: KeyRecord): Promise<boolean> {
  const inserted: unknown[] = await ds.query(
    `INSERT INTO idempotency_keys (key, request_hash, payment_id, credit_id, request, actor)
     SELECT $1,$2,$3,$4,$5,$6 WHERE EXISTS (SELECT 1 FROM credits WHERE id = $4)
     ON CONFLICT (key) DO NOTHING RETURNING key`,
    [r.key, r.requestHash, r.request.paymentId, r.request.creditId, JSON.stringify(r.request), r.request.actor],
  );
  return inserted.length > 0;
}

export async function findKey(ds: DataSource, key: string): Promise<{ request_hash: string; request: PaymentRequest } | undefined> {
  const rows: Array<{ request_hash: string; request: PaymentRequest }> = await ds.query(`SELECT request_hash, request FROM idempotency_keys WHERE key = $1`, [key]);
  return rows[0];
}

/** Forgets a key whose payment was never persisted (its start could not be confirmed); never throws. */
export async function forgetUnusedKey(ds: DataSource, key: string, paymentId: string): Promise<void> {
  await ds.query(`DELETE FROM idempotency_keys WHERE key = $1 AND NOT EXISTS (SELECT 1 FROM payments WHERE id = $2)`, [key, paymentId]).catch(() => undefined);
}

/** The request accepted for a payment id, before a worker persisted the payment. */
export async function acceptedRequest(ds: DataSource, paymentId: string): Promise<{ request: PaymentRequest; created_at: Date } | undefined> {
  const rows: Array<{ request: PaymentRequest; created_at: Date }> = await ds.query(`SELECT request, created_at FROM idempotency_keys WHERE payment_id = $1`, [paymentId]);
  return rows[0];
}

export interface LineKey {
  key: string;
  requestHash: string;
  request: PaymentRequest;
}

/** A request's fields, as a chunk sends them: every field of PaymentRequest and no other (the compiler checks). */
const REQUEST_FIELDS = Object.keys({ paymentId: 1, creditId: 1, amount: 1, paymentDate: 1, reference: 1, idempotencyKey: 1, actor: 1 } satisfies Record<keyof PaymentRequest, 1>) as Array<keyof PaymentRequest>;

/**
 * Records many keys at once (a payment file's chunk). Answers the keys that were already taken, with the hash and
 * payment of their first request: those lines name that payment instead of making a second one. The requests go as
 * one text array per field and PostgreSQL builds each jsonb (the same object `JSON.stringify` makes for a single
 * payment's key). A jsonb[] of thousands of JSON texts, escaped into an array literal and parsed back, made the
 * statement alone take about 1.5 times as long; within a file the step mostly waits on the other chunk.
 */
export async function recordKeys(m: Pick<DataSource, 'query'>, keys: LineKey[]): Promise<Map<string, { request_hash: string; payment_id: string }>> {
  if (keys.length === 0) return new Map();
  const column = (f: keyof PaymentRequest) => `u."${f}"`;
  const inserted: Array<{ key: string }> = await m.query(
    `INSERT INTO idempotency_keys (key, request_hash, payment_id, credit_id, request, actor)
     SELECT u.key, u.hash, ${column('paymentId')}::uuid, ${column('creditId')}::uuid,
            jsonb_build_object(${REQUEST_FIELDS.map((f) => `'${f}', ${column(f)}`).join(', ')}), ${column('actor')}
       FROM unnest($1::text[], $2::text[], ${REQUEST_FIELDS.map((_, i) => `$${i + 3}::text[]`).join(', ')})
            AS u(key, hash, ${REQUEST_FIELDS.map((f) => `"${f}"`).join(', ')})
     ON CONFLICT DO NOTHING RETURNING key`,
    [keys.map((k) => k.key), keys.map((k) => k.requestHash), ...REQUEST_FIELDS.map((f) => keys.map((k) => k.request[f]))],
  );
  const fresh = new Set(inserted.map((r) => r.key));
  return existingKeys(m, keys.map((k) => k.key).filter((k) => !fresh.has(k)));
}

/** The keys among these that are recorded, with their first request's hash and payment. */
export async function existingKeys(m: Pick<DataSource, 'query'>, keys: string[]): Promise<Map<string, { request_hash: string; payment_id: string }>> {
  if (keys.length === 0) return new Map();
  const rows: Array<{ key: string; request_hash: string; payment_id: string }> = await m.query(
    `SELECT key, request_hash, payment_id FROM idempotency_keys WHERE key = ANY($1::text[])`,
    [keys],
  );
  return new Map(rows.map((r) => [r.key, r]));
}
