import { createHash } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { ipKeyGenerator, rateLimit, type RateLimitInfo } from 'express-rate-limit';
import type { DataSource } from 'typeorm';
import { authenticate, type Role } from '../db/api-keys';
import { sendProblem } from './problem';

/**
 * Rate limits by role: a request with a valid key is counted against that key, with its role's
 * limit, from whatever address it comes; a request without one (no key, an unknown or revoked
 * key) against its address. Fixed windows of RATE_LIMIT_WINDOW_MS, counted in this process's
 * memory: with N API processes behind a balancer a key can make up to N times its limit.
 */
export interface RateLimits {
  admin: number;
  operator: number;
  viewer: number;
  /** Per client address, for requests without a valid key. */
  anonymous: number;
}

interface RateClass {
  counter: string;
  limit: number;
  what: 'API key' | 'address';
}

const bearerOf = (req: Request): string | undefined => /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];

async function classify(ds: DataSource, limits: RateLimits, req: Request): Promise<RateClass> {
  const cached = (req as Request & { rateClass?: RateClass }).rateClass;
  if (cached) return cached;
  const bearer = bearerOf(req);
  // The same cached lookup the route's authentication makes next.
  const principal = bearer && /^[A-Za-z0-9_\-]{10,200}$/.test(bearer) ? await authenticate(ds, bearer) : undefined;
  const found: RateClass = principal
    ? { counter: `key:${createHash('sha256').update(principal.keyId).digest('hex')}`, limit: limits[principal.role as Role], what: 'API key' }
    : { counter: `address:${ipKeyGenerator(req.ip ?? '')}`, limit: limits.anonymous, what: 'address' };
  (req as Request & { rateClass?: RateClass }).rateClass = found;
  return found;
}

function refuse(req: Request, res: Response, what: string) {
  const info = (req as Request & { rateLimit?: RateLimitInfo }).rateLimit;
  const resetMs = info?.resetTime ? info.resetTime.getTime() - Date.now() : 1000;
  res.setHeader('Retry-After', String(Math.max(1, Math.ceil(resetMs / 1000))));
  sendProblem(res, { status: 429, code: 'RATE_LIMITED', title: 'Too many requests', detail: `too many requests from this ${what}; retry after the Retry-After header's seconds` });
}

/** The /v1 limiter; a class whose limit is 0 is not limited. */
export function roleRateLimits(ds: DataSource, limits: RateLimits, windowMs: number) {
  const limiter = rateLimit({
    windowMs,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: async (req) => (await classify(ds, limits, req)).counter,
    limit: async (req) => (await classify(ds, limits, req)).limit,
    handler: (req, res) => {
      classify(ds, limits, req).then((c) => refuse(req, res, c.what), () => refuse(req, res, 'client'));
    },
  });
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      if ((await classify(ds, limits, req)).limit === 0) return next();
    } catch (err) {
      return next(err);
    }
    return limiter(req, res, next);
  };
}
