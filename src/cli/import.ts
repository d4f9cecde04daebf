// `npm run cli -- import --credits FILE --payments FILE [--mapping FILE] [--dry-run] [--follow]`: uploads a legacy
// export to the API (multipart, the files streamed from disk); with --follow, a progress bar, then the credits loaded,
// unchanged and refused, and the differences by code with the amounts at stake.
import fs from 'node:fs';
import path from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import Table from 'cli-table3';

export interface LegacyImportOptions {
  apiUrl: string;
  apiKey: string;
  credits: string;
  payments: string;
  mapping?: string;
  dryRun: boolean;
  follow: boolean;
  out: NodeJS.WriteStream;
}

interface ImportView {
  id: string;
  status: string;
  mode: string;
  files: { credits: { rows: number }; payments: { rows: number } };
  progress: { creditsDone: number; creditsTotal: number };
  credits: { loaded: number; unchanged: number; refused: number; withDifferences: number };
  payments: { applied: number; amountApplied: string };
  differences: Record<string, { count: number; credits: number; amountAtStake: string }>;
  durationsMs: { total: number | null };
  temporalUiUrl: string | null;
}

const FOLLOW_POLL_MS = 500;
const FOLLOW_MAX_MS = 6 * 3_600_000;
const base = (o: LegacyImportOptions) => o.apiUrl.replace(/\/$/, '');

async function answer<T>(res: Response, what: string): Promise<T> {
  const json = (await res.json()) as T & { code?: string; detail?: string };
  if (!res.ok) throw new Error(`${what}: ${res.status} ${json.code ?? ''} ${json.detail ?? ''}`.trim());
  return json;
}

/** The files as multipart parts, read from disk as they are sent (the mapping first: the files are read with it). */
async function upload(o: LegacyImportOptions): Promise<ImportView> {
  const form = new FormData();
  const part = async (name: string, file: string) => form.append(name, await fs.openAsBlob(file), path.basename(file));
  if (o.mapping) await part('mapping', o.mapping);
  await part('credits', o.credits);
  await part('payments', o.payments);
  const res = await fetch(`${base(o)}/v1/imports${o.dryRun ? '?mode=DRY_RUN' : ''}`, { method: 'POST', headers: { authorization: `Bearer ${o.apiKey}` }, body: form });
  return answer<ImportView>(res, 'the import was refused');
}

function summary(view: ImportView): string {
  const credits = new Table({ style: { head: [], border: [] }, head: ['credits', 'count'] });
  credits.push(['loaded' + (view.mode === 'DRY_RUN' ? ' (would be)' : ''), view.credits.loaded], ['already imported, unchanged', view.credits.unchanged], ['refused', view.credits.refused], ['with differences', view.credits.withDifferences]);
  const codes = new Table({ style: { head: [], border: [] }, head: ['difference', 'count', 'credits', 'amount at stake'] });
  for (const [code, d] of Object.entries(view.differences)) if (d.count > 0) codes.push([code, d.count, d.credits, d.amountAtStake]);
  return `${credits.toString()}\npayments applied: ${view.payments.applied} (${view.payments.amountApplied})\n${codes.length > 0 ? codes.toString() : 'no differences'}`;
}

export async function runImport(o: LegacyImportOptions): Promise<number> {
  let view = await upload(o);
  o.out.write(`accepted: import ${view.id} (${view.files.credits.rows} credits, ${view.files.payments.rows} payments, ${view.mode})\n`);
  if (!o.follow) return 0;
  const bar = new SingleBar({ format: ' {bar} {value}/{total} credits', stream: o.out, hideCursor: true }, Presets.shades_classic);
  bar.start(view.progress.creditsTotal, 0);
  const until = Date.now() + FOLLOW_MAX_MS;
  for (;;) {
    view = await answer<ImportView>(await fetch(`${base(o)}/v1/imports/${view.id}`, { headers: { authorization: `Bearer ${o.apiKey}` }, signal: AbortSignal.timeout(10_000) }), `GET /v1/imports/${view.id}`);
    bar.update(view.progress.creditsDone);
    if (!['RECEIVED', 'RUNNING'].includes(view.status)) break;
    if (Date.now() > until) throw new Error(`import ${view.id} is still ${view.status}; follow it with GET /v1/imports/${view.id}`);
    await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
  }
  bar.stop();
  o.out.write(`import ${view.id} ${view.status} in ${((view.durationsMs.total ?? 0) / 1000).toFixed(1)} s\n${summary(view)}\n`);
  o.out.write(`differences: ${base(o)}/v1/imports/${view.id}/differences?format=csv\n`);
  if (view.temporalUiUrl) o.out.write(`Temporal UI: ${view.temporalUiUrl}\n`);
  return view.status === 'COMPLETED' ? 0 : 1;
}
