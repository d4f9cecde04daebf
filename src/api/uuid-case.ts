import type { NextFunction, Request, Response } from 'express';

/**
 * Ids in one form: UUIDs are stored, hashed into idempotency records and built into workflow ids
 * in lower case, so an id a client sends in upper (or mixed) case is lower-cased here, at the
 * boundary, before any route reads it: in the path and query string, and in body fields that
 * hold ids (`id`, `…Id`, `…Ids`, `after`). Free text (a reference, a reason) is left as sent.
 */
const UUID_IN_TEXT = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ID_FIELD = /^(id|after|.*Ids?)$/;

const lower = (v: unknown): unknown => (typeof v === 'string' && UUID.test(v) ? v.toLowerCase() : v);

/** Ids sit at most a few levels down; deeper (hostile) nesting is left to validation to refuse. */
const MAX_DEPTH = 4;

function lowerIds(value: unknown, depth = 0): void {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const v of value) lowerIds(v, depth + 1);
    return;
  }
  const obj = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(obj)) {
    if (ID_FIELD.test(k)) obj[k] = Array.isArray(v) ? v.map(lower) : lower(v);
    else lowerIds(v, depth + 1);
  }
}

/** Before the JSON parser: path and query string. */
export function lowerCaseUrlIds(req: Request, _res: Response, next: NextFunction) {
  if (/[A-F]/.test(req.url)) req.url = req.url.replace(UUID_IN_TEXT, (id) => id.toLowerCase());
  next();
}

/** After the JSON parser: id fields of the body. */
export function lowerCaseBodyIds(req: Request, _res: Response, next: NextFunction) {
  if (req.body && typeof req.body === 'object') lowerIds(req.body);
  next();
}
