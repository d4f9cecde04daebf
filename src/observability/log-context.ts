/**
 * The ids a request concerns (paymentId, creditId, workflowId), set by the route handlers on `res.locals` and added
 * by pino-http (`customProps`) to the request's log line, so every API log line about a payment carries them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Response } from 'express';

export interface LogIds {
  paymentId?: string;
  creditId?: string;
  workflowId?: string;
  recalculationId?: string;
}

export function setLogIds(res: Response, ids: LogIds): void {
  const clean = Object.fromEntries(Object.entries(ids).filter(([, v]) => typeof v === 'string' && v !== ''));
  res.locals.logIds = { ...(res.locals.logIds ?? {}), ...clean };
}

/** pino-http's customProps: the ids the handler recorded (empty when the request started or concerns no payment). */
export function logIdsOf(_req: IncomingMessage, res: ServerResponse): LogIds {
  return ((res as Response).locals?.logIds as LogIds | undefined) ?? {};
}
