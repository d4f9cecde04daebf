import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Express, NextFunction, Request, Response } from 'express';
import cors from 'cors';
import helmet from 'helmet';
import { rateLimit, type RateLimitInfo } from 'express-rate-limit';
import { sendProblem } from './problem';

/** The API's protections (README: Security); the values come from the configuration. */
export interface SecurityOptions {
  /** Requests per window, per API key and per client address; 0 turns the limit off. */
  rateLimitPerWindow: number;
  rateLimitWindowMs: number;
  /** Origins CORS allows; empty = no CORS headers at all (browsers on other origins are refused). */
  corsOrigins: string[];
  /** Express's `trust proxy` (how the client address is read behind a load balancer). */
  trustProxy: boolean | number | string;
}

export const defaultSecurity: SecurityOptions = { rateLimitPerWindow: 600, rateLimitWindowMs: 60_000, corsOrigins: [], trustProxy: false };

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

const bearerOf = (req: Request): string | undefined => /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];

function rateLimited(req: Request, res: Response, info: RateLimitInfo | undefined, what: string) {
  const resetMs = info?.resetTime ? info.resetTime.getTime() - Date.now() : 1000;
  res.setHeader('Retry-After', String(Math.max(1, Math.ceil(resetMs / 1000))));
  sendProblem(res, { status: 429, code: 'RATE_LIMITED', title: 'Too many requests', detail: `too many requests from this ${what}; retry after the Retry-After header's seconds` });
}

/**
 * Security headers (helmet), CORS only for configured origins, duplicate-header refusal, and the
 * rate limits on /v1: one counter per client address and one per presented API key. Counters live
 * in this process's memory: with several API processes each counts on its own (the effective limit
 * is the sum), unless a shared store is plugged in.
 */
export function applySecurity(app: Express, opts: SecurityOptions = defaultSecurity): void {
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
  if (opts.rateLimitPerWindow > 0) {
    const common = { windowMs: opts.rateLimitWindowMs, limit: opts.rateLimitPerWindow, standardHeaders: 'draft-8' as const, legacyHeaders: false };
    app.use(
      '/v1',
      rateLimit({
        ...common,
        identifier: 'address',
        requestPropertyName: 'rateLimitAddress',
        handler: (req, res) => rateLimited(req, res, (req as Request & { rateLimitAddress?: RateLimitInfo }).rateLimitAddress, 'address'),
      }),
      rateLimit({
        ...common,
        identifier: 'key',
        requestPropertyName: 'rateLimitKey',
        skip: (req) => bearerOf(req) === undefined,
        // The key's hash, never the key, is the counter's name; the address limit still applies.
        keyGenerator: (req) => `key:${createHash('sha256').update(bearerOf(req) ?? '').digest('hex')}`,
        handler: (req, res) => rateLimited(req, res, (req as Request & { rateLimitKey?: RateLimitInfo }).rateLimitKey, 'API key'),
      }),
    );
  }
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
