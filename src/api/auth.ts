import type { NextFunction, Request, Response } from 'express';
import type { DataSource } from 'typeorm';
import { authenticate, Principal, Role, roleRank } from '../db/api-keys';
import { sendProblem } from './problem';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/**
 * `Authorization: Bearer <key>`; 401 without a valid key, 403 below the route's role. It runs
 * before the route reads anything, so neither answer says whether the resource exists. The
 * middleware carries `requiredRole`, so tests can list every route's role from the app itself.
 */
export function requireRole(ds: DataSource, role: Role) {
  const check = async (req: Request, res: Response, next: NextFunction) => {
    try {
      const header = req.headers.authorization ?? '';
      const match = /^Bearer ([A-Za-z0-9_\-]{10,200})$/.exec(header);
      const principal = match ? await authenticate(ds, match[1]) : undefined;
      if (!principal) {
        res.setHeader('WWW-Authenticate', 'Bearer');
        return sendProblem(res, { status: 401, code: 'UNAUTHENTICATED', title: 'Unauthenticated', detail: 'a valid API key is required (Authorization: Bearer <key>)' });
      }
      if (roleRank[principal.role] < roleRank[role]) {
        return sendProblem(res, { status: 403, code: 'FORBIDDEN', title: 'Forbidden', detail: `this route needs the ${role} role` });
      }
      req.principal = principal;
      next();
    } catch (err) {
      next(err);
    }
  };
  return Object.assign(check, { requiredRole: role });
}

/** How the actor is recorded on payments, reversals and audit entries: key id and name. */
export const actorOf = (req: Request): string | null => (req.principal ? `${req.principal.keyId}:${req.principal.name}` : null);
