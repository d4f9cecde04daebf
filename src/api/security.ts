import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Express, NextFunction, Request, Response } from 'express';
import cors from 'cors';
import helmet from 'helmet';
import type { DataSource } from 'typeorm';
import { type RateLimits, roleRateLimits } from './rate-limits';
import { sendProblem } from './problem';

/** The API's protections (README: Security); the values come from the configuration. */
export interface SecurityOptions {
  /** Requests per window: per API key by its role, per client address without a valid key (src/api/rate-limits.ts). */
  rateLimits: RateLimits;
  rateLimitWindowMs: number;
  /** Origins CORS allows; empty = no CORS headers at all (browsers on other origins are refused). */
  corsOrigins: string[];
  /** Express's `trust proxy` (how the client address is read behind a load balancer). */
  trustProxy: boolean | number | string;
}

export const defaultSecurity: SecurityOptions = {
  rateLimits: { admin: 200, operator: 200, viewer: 50, anonymous: 10 },
  rateLimitWindowMs: 1000,
  corsOrigins: [],
  trustProxy: false,
};

// Headers whose meaning is ambiguous when sent twice: a request carrying two is refused, not guessed.
const SINGLE_HEADERS = new Set(['authorization', 'content-type', 'content-length', 'transfer-encoding', 'idempotency-key', 'host']);

function refuseDuplicateHeaders(req: Request, res: Response, next: NextFunction) {
  const seen = new Set<string>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    if (!SINGLE_HEADERS.has(name)) continue;
    if (seen.has(name)) {
      return sendProblem(res, { status: 400, code: 'DUPLICATE_HEADER', title: 'The request is not valid', detail: `the ${name} header must be sent once` });
    }
    seen.add(name);
  }
  next();
}

/**
 * Security headers (helmet), CORS only for configured origins, duplicate-header refusal, and the
 * rate limits on /v1 (src/api/rate-limits.ts: per key by role, per address without a valid key).
 */
export function applySecurity(app: Express, ds: DataSource, opts: SecurityOptions = defaultSecurity): void {
  app.set('trust proxy', opts.trustProxy);
  app.use(helmet());
  if (opts.corsOrigins.length > 0) {
    app.use(
      cors({
        origin: opts.corsOrigins.includes('*') ? '*' : opts.corsOrigins,
        methods: ['GET', 'POST'],
        allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key'],
        exposedHeaders: ['Location', 'Retry-After', 'RateLimit', 'RateLimit-Policy'],
        maxAge: 600,
      }),
    );
  }
  app.use(refuseDuplicateHeaders);
  // Security: limits by role per key, per address without a valid key (src/api/rate-limits.ts).
  app.use('/v1', roleRateLimits(ds, opts.rateLimits, opts.rateLimitWindowMs));
}

/**
 * Requests Node's HTTP parser refuses before Express sees them (bytes that are not allowed in a
 * header, a head past the size limit, a malformed request line) still get a problem+json answer.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, title, code] =
      err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large', 'HEADERS_TOO_LARGE'] : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout', 'REQUEST_TIMEOUT'] : [400, 'Bad Request', 'BAD_REQUEST'];
    const body = JSON.stringify({ type: `https://abono.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`, title, status, detail: 'the request could not be parsed as HTTP', code });
    socket.end(`HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
}
