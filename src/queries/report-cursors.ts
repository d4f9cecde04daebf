import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DataSource } from 'typeorm';

/**
 * Report cursors: the last key of a page signed with an HMAC under a per-installation key kept in the database
 * (every API process shares it) and bound to the report's filters, so a cursor that was altered, or replayed with
 * other filters, is refused.
 */

const keys = new WeakMap<DataSource, Promise<Buffer>>();

/** The installation's cursor key (read once per process; one query the first time). */
export function reportCursorKey(ds: DataSource): Promise<Buffer> {
  let k = keys.get(ds);
  if (!k) {
    k = ds
      .query(`SELECT value FROM report_secrets WHERE name = 'cursor_hmac_key'`)
      .then((rows: Array<{ value: string }>) => {
        if (!rows[0]) throw new Error('report_secrets has no cursor_hmac_key: run the migrations');
        return Buffer.from(rows[0].value, 'utf8');
      });
    k.catch(() => keys.delete(ds));
    keys.set(ds, k);
  }
  return k;
}

function mac(key: Buffer, scope: string, payload: string): Buffer {
  return createHmac('sha256', key).update(`${scope}\n${payload}`).digest().subarray(0, 18);
}

/** `base64url(payload).base64url(hmac)`; `scope` names the report and its filters. */
export function signCursor(key: Buffer, scope: string, payload: string): string {
  return `${Buffer.from(payload, 'utf8').toString('base64url')}.${mac(key, scope, payload).toString('base64url')}`;
}

/** The payload of a cursor this installation signed for the same scope, or null. */
export function verifyCursor(key: Buffer, scope: string, token: string): string | null {
  const m = /^([A-Za-z0-9_-]{1,200})\.([A-Za-z0-9_-]{24})$/.exec(token);
  if (!m) return null;
  const payload = Buffer.from(m[1], 'base64url').toString('utf8');
  const given = Buffer.from(m[2], 'base64url');
  const want = mac(key, scope, payload);
  if (given.length !== want.length || !timingSafeEqual(given, want)) return null;
  return payload;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

