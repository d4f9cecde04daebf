import type { DataSource } from 'typeorm';
import type { PaymentRequest } from '../workflows/types';

/** The Idempotency-Key records: one key, one request (by its hash), one payment. */

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
