// `npm run cli -- recalc [--dry-run|--review] [--incremental] [--credit ID ...] [--follow]`: starts a
// recalculation batch through the API (so the actor is the key's) and follows it with a
// progress bar, then prints a summary table. ABONO_API_URL and ABONO_API_KEY (admin) say where.
import { SingleBar, Presets } from 'cli-progress';
import Table from 'cli-table3';
import { type RecalculationMode, WORKING_RECALCULATION_STATUSES } from '../domain/status';

export interface RecalcOptions {
  apiUrl: string;
  apiKey: string;
  mode: RecalculationMode;
  /** The nightly kind of batch: changed credits and the rolling slice. */
  incremental?: boolean;
  creditIds?: string[];
  follow: boolean;
  out: NodeJS.WriteStream;
}

interface RunView {
  id: string;
  mode: string;
  status: string;
  scanned: number;
  inconsistent: number;
  corrected: number;
  errors: number;
  creditsPerSecond: number | null;
  durationMs: number | null;
  temporalUrl: string | null;
  inconsistentCredits: Array<{ creditId: string; status: string; drift: Array<{ field: string; persisted: string; recomputed: string }> }>;
}

const API_TIMEOUT_MS = 10_000;
const FOLLOW_POLL_MS = 500;
/** A batch awaiting review can wait for days; the follower gives up after this and says how to look later. */
const FOLLOW_MAX_MS = 24 * 3_600_000;

export async function api<T>(o: Pick<RecalcOptions, 'apiUrl' | 'apiKey'>, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(o.apiUrl.replace(/\/$/, '') + path, {
    method,
    headers: { authorization: `Bearer ${o.apiKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(API_TIMEOUT_MS),
  });
  const json = (await res.json().catch(() => ({}))) as T & { code?: string; detail?: string };
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${json.code ?? ''} ${json.detail ?? ''}`.trim());
  return json;
}

export async function runRecalc(o: RecalcOptions): Promise<number> {
  const started = await api<{ id: string }>(o, 'POST', '/v1/recalculations', { mode: o.mode, creditIds: o.creditIds, ...(o.incremental ? { scope: 'INCREMENTAL' } : {}) });
  o.out.write(`started ${started.id} (${o.mode}${o.incremental ? ', INCREMENTAL' : ''})\n`);
  if (!o.follow) return 0;

  // The total is known up front only for an explicit credit list; otherwise the bar counts up.
  const total = o.creditIds?.length ?? 0;
  const bar = new SingleBar(
    { format: total ? ' {bar} {value}/{total} credits | {inconsistent} inconsistent | {rate}/s' : ' {value} credits scanned | {inconsistent} inconsistent | {rate}/s', stream: o.out, hideCursor: true },
    Presets.shades_classic,
  );
  bar.start(total, 0, { inconsistent: 0, rate: 0 });
  let view: RunView;
  const followUntil = Date.now() + FOLLOW_MAX_MS;
  for (;;) {
    view = await api<RunView>(o, 'GET', `/v1/recalculations/${started.id}?limit=20`);
    bar.update(view.scanned, { inconsistent: view.inconsistent, rate: view.creditsPerSecond ?? 0 });
    if (!WORKING_RECALCULATION_STATUSES.has(view.status)) break;
    if (Date.now() > followUntil) throw new Error(`${started.id} is still ${view.status} after ${FOLLOW_MAX_MS / 3_600_000} h; follow it with GET /v1/recalculations/${started.id}`);
    await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
  }
  bar.stop();

  const summary = new Table({ style: { head: [], border: [] }, head: ['batch', 'mode', 'status', 'scanned', 'inconsistent', 'corrected', 'errors', 'duration'] });
  summary.push([view.id, view.mode, view.status, view.scanned, view.inconsistent, view.corrected, view.errors, view.durationMs != null ? `${(view.durationMs / 1000).toFixed(1)} s` : '-']);
  o.out.write(summary.toString() + '\n');
  if (view.inconsistentCredits.length) {
    const drift = new Table({ style: { head: [], border: [] }, head: ['credit', 'status', 'field', 'persisted', 'recomputed'] });
    for (const c of view.inconsistentCredits) for (const d of c.drift) drift.push([c.creditId, c.status, d.field, d.persisted, d.recomputed]);
    o.out.write(drift.toString() + '\n');
  }
  if (view.status === 'AWAITING_APPROVAL') o.out.write(`approve with: POST /v1/recalculations/${view.id}/approval {"approve": true}\n`);
  if (view.temporalUrl) o.out.write(`Temporal UI: ${view.temporalUrl}\n`);
  return view.errors > 0 ? 1 : 0;
}
