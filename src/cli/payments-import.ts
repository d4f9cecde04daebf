// `npm run cli -- payments import FILE [--dry-run] [--follow]`: uploads a payment file (CSV or NDJSON, by its
// extension) to the API, streamed, under a key derived from the file's bytes (importing the same file again
// answers the first import instead of paying twice); with --follow, a progress bar, a summary table, and the
// refused lines written beside the file as FILE.rejected.csv.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Presets, SingleBar } from 'cli-progress';
import Table from 'cli-table3';

export interface ImportOptions {
  apiUrl: string;
  apiKey: string;
  file: string;
  dryRun: boolean;
  follow: boolean;
  out: NodeJS.WriteStream;
}

interface BatchView {
  id: string;
  status: string;
  mode: string;
  lineCount: number;
  counts: Record<string, number>;
  amounts: Record<string, string>;
  durationsMs: { total: number | null };
  temporalUiUrl: string | null;
}

const FOLLOW_POLL_MS = 500;
const FOLLOW_MAX_MS = 6 * 3_600_000;

async function fileKey(file: string, dryRun: boolean): Promise<string> {
  const h = createHash('sha256');
  await pipeline(fs.createReadStream(file), h);
  return `file:${dryRun ? 'dry-run:' : ''}${h.digest('hex')}`;
}

async function get<T>(o: ImportOptions, path: string): Promise<T> {
  const res = await fetch(o.apiUrl.replace(/\/$/, '') + path, { headers: { authorization: `Bearer ${o.apiKey}` }, signal: AbortSignal.timeout(10_000) });
  const json = (await res.json()) as T & { code?: string; detail?: string };
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${json.code ?? ''} ${json.detail ?? ''}`.trim());
  return json;
}

async function upload(o: ImportOptions): Promise<BatchView> {
  const type = /\.(ndjson|jsonl)$/i.test(o.file) ? 'application/x-ndjson' : 'text/csv';
  const res = await fetch(`${o.apiUrl.replace(/\/$/, '')}/v1/payment-batches${o.dryRun ? '?mode=DRY_RUN' : ''}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${o.apiKey}`, 'content-type': type, 'idempotency-key': await fileKey(o.file, o.dryRun) },
    body: Readable.toWeb(fs.createReadStream(o.file)) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  const json = (await res.json()) as BatchView & { code?: string; detail?: string };
  if (!res.ok) throw new Error(`the file was refused (${res.status} ${json.code}): ${json.detail}`);
  return json;
}

export async function runPaymentsImport(o: ImportOptions): Promise<number> {
  let view = await upload(o);
  o.out.write(`${view.status === 'RECEIVED' || view.status === 'RUNNING' ? 'accepted' : 'already imported'}: payment batch ${view.id} (${view.lineCount} lines, ${view.mode})\n`);
  if (!o.follow) return 0;
  const bar = new SingleBar({ format: ' {bar} {value}/{total} lines | {applied} applied | {rejected} refused', stream: o.out, hideCursor: true }, Presets.shades_classic);
  bar.start(view.lineCount, 0, { applied: 0, rejected: 0 });
  const until = Date.now() + FOLLOW_MAX_MS;
  for (;;) {
    view = await get<BatchView>(o, `/v1/payment-batches/${view.id}`);
    bar.update(view.lineCount - view.counts.PENDING, { applied: view.counts.APPLIED + view.counts.WOULD_APPLY, rejected: view.counts.REJECTED });
    if (!['RECEIVED', 'RUNNING'].includes(view.status)) break;
    if (Date.now() > until) throw new Error(`batch ${view.id} is still ${view.status}; follow it with GET /v1/payment-batches/${view.id}`);
    await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
  }
  bar.stop();
  const summary = new Table({ style: { head: [], border: [] }, head: ['outcome', 'lines', 'amount'] });
  for (const s of ['APPLIED', 'WOULD_APPLY', 'REJECTED', 'DUPLICATE']) if (view.counts[s]) summary.push([s, view.counts[s], view.amounts[s]]);
  o.out.write(`batch ${view.id} ${view.status} in ${((view.durationsMs.total ?? 0) / 1000).toFixed(1)} s\n${summary.toString()}\n`);
  if (view.counts.REJECTED > 0) {
    const rejectedFile = `${o.file}.rejected.csv`;
    const res = await fetch(`${o.apiUrl.replace(/\/$/, '')}/v1/payment-batches/${view.id}/lines?status=REJECTED&format=csv`, { headers: { authorization: `Bearer ${o.apiKey}` } });
    await pipeline(Readable.fromWeb(res.body as never), fs.createWriteStream(rejectedFile));
    o.out.write(`refused lines: ${rejectedFile}\n`);
  }
  if (view.temporalUiUrl) o.out.write(`Temporal UI: ${view.temporalUiUrl}\n`);
  return view.status === 'COMPLETED' ? 0 : 1;
}
