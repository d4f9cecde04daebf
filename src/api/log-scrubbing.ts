/**
 * What a request's log line may say about it. A client can put a credential anywhere (a query
 * parameter, any header, a path segment), valid or not, so the line is built from what cannot be
 * one: the method, the path with long opaque segments replaced, query parameter names with values
 * that look like secrets replaced, and the values of a short list of headers that carry none.
 * Every other header is named with its value redacted, so an operator still sees it was sent.
 */
import type { IncomingMessage } from 'node:http';

export const REDACTED = '[redacted]';

/** Keys are at least 32 characters (ADMIN_API_KEY's minimum; generated keys are longer). */
const SHORTEST_KEY = 32;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ID_WITH_UUID = /^[a-z]+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CREDENTIAL_NAME = /key|token|auth|secret|pass|credential|session|sig|cookie|bearer/i;
const KEY_LOOKALIKE = /abono_[A-Za-z0-9_\-]{8,}/g;

/** Headers whose values are logged (still cut where a key's shape shows). */
const LOGGED_HEADERS = new Set([
  'host',
  'content-type',
  'content-length',
  'accept',
  'accept-encoding',
  'accept-language',
  'connection',
  'transfer-encoding',
  'x-request-id',
  'x-forwarded-for',
  'x-forwarded-proto',
  'origin',
]);

/** A value that could be a key, or hold one: long and not an id, or shaped like abono's keys. */
function mayBeSecret(value: string): boolean {
  if (UUID.test(value) || ID_WITH_UUID.test(value)) return false;
  return value.length >= SHORTEST_KEY || new RegExp(KEY_LOOKALIKE.source).test(value);
}

function scrubSegment(segment: string): string {
  let decoded = segment;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    /* kept as sent */
  }
  return mayBeSecret(decoded) || mayBeSecret(segment) ? REDACTED : segment;
}

function scrubQuery(query: string): string {
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      if (eq < 0) return scrubSegment(name);
      const safeName = scrubSegment(name);
      if (safeName === REDACTED || CREDENTIAL_NAME.test(name)) return `${safeName}=${REDACTED}`;
      return `${name}=${scrubSegment(pair.slice(eq + 1))}`;
    })
    .join('&');
}

/** The request target as it may be logged: path segments and query values that could be keys replaced. */
export function scrubUrl(url: string): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const safePath = path.split('/').map(scrubSegment).join('/');
  return q < 0 ? safePath : `${safePath}?${scrubQuery(url.slice(q + 1))}`;
}

export function scrubHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : value;
    out[name] = LOGGED_HEADERS.has(name) && !CREDENTIAL_NAME.test(text) ? text.replace(KEY_LOOKALIKE, REDACTED) : REDACTED;
  }
  return out;
}

interface SerializedRequest {
  id?: unknown;
  method?: string;
  url?: string;
  remoteAddress?: string;
  remotePort?: number;
  raw?: IncomingMessage & { originalUrl?: string };
}

/** pino-http's `req` serializer: no query/params objects (the scrubbed URL has them), scrubbed headers. */
export function scrubbedRequest(req: SerializedRequest) {
  const raw = req.raw;
  return {
    id: req.id,
    method: req.method,
    url: scrubUrl(raw?.originalUrl ?? req.url ?? ''),
    headers: raw ? scrubHeaders(raw.headers) : {},
    remoteAddress: req.remoteAddress,
    remotePort: req.remotePort,
  };
}
