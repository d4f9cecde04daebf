import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { Request, Response, Router } from 'express';
import { z } from 'zod';
import { submitImport } from '../../client/imports';
import { DIFFERENCE_CODES } from '../../domain';
import type { LegacyFile } from '../../db/imports';
import { LegacyFileError } from '../../imports/legacy-rows';
import { DEFAULT_MAPPING, LegacyMapping, MappingError, parseMapping } from '../../imports/mapping';
import { getImport, listDifferences, listImports, parseDifferenceCursor, streamDifferencesCsv } from '../../queries/import-views';
import type { ApiContext } from '../app';
import { actorOf, requireRole } from '../auth';
import { sendProblem } from '../problem';
import { uuid } from '../schemas';

export const ImportQuery = z.object({ mode: z.enum(['APPLY', 'DRY_RUN'], { error: 'mode must be APPLY or DRY_RUN' }).default('APPLY') });
export const ImportListQuery = z.object({
  before: uuid.optional().describe("the previous page's next: imports created before this one"),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
export const DifferencesQuery = z.object({
  code: z.enum(DIFFERENCE_CODES, { error: `code must be one of ${DIFFERENCE_CODES.join(', ')}` }).optional(),
  cursor: z.string().max(1000).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  format: z.enum(['json', 'csv'], { error: 'format must be json or csv' }).default('json'),
});

/** Longest mapping file taken, in bytes (a mapping is a few hundred). */
const MAPPING_MAX_BYTES = 64 * 1024;

/** A refusal of the upload itself (not of a file's content): the part at fault and why. */
class UploadError extends Error {
  constructor(readonly code: string, readonly part: string | null, message: string) {
    super(message);
  }
}

type Part = { kind: 'field'; name: string; value: string } | { kind: 'file'; name: string; stream: Readable };

/** The request's multipart parts in the order they arrive; a file part must be read before the next one comes. */
async function* multipartParts(req: Request): AsyncGenerator<Part> {
  const bb = busboy({ headers: req.headers, limits: { fields: 10, fieldSize: MAPPING_MAX_BYTES, files: 3 } });
  const queue: Array<Part | { kind: 'end' } | { kind: 'error'; err: Error }> = [];
  let wake: (() => void) | undefined;
  const push = (x: (typeof queue)[number]) => {
    queue.push(x);
    wake?.();
  };
  bb.on('field', (name, value) => push({ kind: 'field', name, value }));
  bb.on('file', (name, stream) => push({ kind: 'file', name, stream }));
  bb.on('close', () => push({ kind: 'end' }));
  bb.on('error', (err) => push({ kind: 'error', err: err as Error }));
  req.on('error', (err) => push({ kind: 'error', err }));
  req.pipe(bb);
  for (;;) {
    while (queue.length === 0) await new Promise<void>((r) => (wake = r));
    const x = queue.shift()!;
    if (x.kind === 'end') return;
    if (x.kind === 'error') throw new UploadError('MULTIPART_INVALID', null, `the multipart body cannot be read: ${x.err.message}`);
    yield x;
  }
}

async function textOf(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const c of stream) {
    bytes += (c as Buffer).length;
    if (bytes > MAPPING_MAX_BYTES) throw new UploadError('MAPPING_TOO_LARGE', 'mapping', `the mapping is larger than ${MAPPING_MAX_BYTES} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Reads the parts before the first file (the mapping and the mode, which the files are read with), then hands the
 * files on as they come: `credits` and `payments`, in either order.
 */
async function uploadOf(req: Request, mode: 'APPLY' | 'DRY_RUN') {
  const parts = multipartParts(req);
  let mapping: LegacyMapping = DEFAULT_MAPPING;
  let first: { name: LegacyFile; body: Readable } | undefined;
  const fileOf = (p: Part & { kind: 'file' }) => {
    if (p.name !== 'credits' && p.name !== 'payments') {
      p.stream.resume();
      throw new UploadError('UNKNOWN_PART', p.name, `unknown part "${p.name}": send credits, payments and optionally mapping and mode`);
    }
    return { name: p.name as LegacyFile, body: p.stream };
  };
  for (let next = await parts.next(); !next.done; next = await parts.next()) {
    const p = next.value;
    if (p.kind === 'field' && p.name === 'mode') {
      const parsed = ImportQuery.safeParse({ mode: p.value });
      if (!parsed.success) throw new UploadError('MODE_INVALID', 'mode', parsed.error.issues[0].message);
      mode = parsed.data.mode;
    } else if (p.name === 'mapping') mapping = parseMapping(p.kind === 'field' ? p.value : await textOf(p.stream));
    else if (p.kind === 'file') {
      first = fileOf(p);
      break;
    } else throw new UploadError('UNKNOWN_PART', p.name, `unknown part "${p.name}": send credits, payments and optionally mapping and mode`);
  }
  async function* files() {
    if (first) yield first;
    for await (const p of parts) {
      if (p.kind !== 'file' || p.name === 'mapping') throw new UploadError('PART_AFTER_FILES', p.name, `the part "${p.name}" came after a file: send mapping and mode before the files`);
      yield fileOf(p);
    }
  }
  return { mode, mapping, files: files() };
}

function refused(res: Response, err: unknown): boolean {
  const title = 'The import was refused; nothing was recorded';
  if (err instanceof LegacyFileError) {
    const field = `${err.file}${err.column ? `: ${err.column}` : ''}`;
    sendProblem(res, { status: 400, code: err.code, title, detail: err.message, file: err.file, line: err.line, column: err.column, errors: [{ field, code: err.code, detail: err.message }] });
  } else if (err instanceof MappingError) {
    sendProblem(res, { status: 400, code: err.code, title, detail: err.message, file: err.file, line: err.line, setting: err.path, errors: [{ field: err.path ?? 'mapping', code: err.code, detail: err.message }] });
  } else if (err instanceof UploadError) {
    sendProblem(res, { status: 400, code: err.code, title, detail: err.message, errors: [{ field: err.part ?? 'body', code: err.code, detail: err.message }] });
  } else return false;
  return true;
}

/** POST /v1/imports: the two files (multipart/form-data), streamed into staging; 202 with Location. */
async function postImport(ctx: ApiContext, req: Request, res: Response) {
  if (!req.is('multipart/form-data')) {
    return sendProblem(res, { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', title: 'multipart/form-data only', detail: 'send the files as multipart/form-data parts named credits and payments (mapping, mode optional, before them)' });
  }
  const query = ImportQuery.parse(req.query);
  try {
    const upload = await uploadOf(req, query.mode);
    const imp = await submitImport(ctx.imports, { mode: upload.mode, mapping: upload.mapping, parts: upload.files, actor: actorOf(req) });
    res.status(202).location(`/v1/imports/${imp.id}`).json(await getImport(ctx.ds, ctx.imports, imp.id));
  } catch (err) {
    // The rest of the body is not read: the answer is final, and the connection closes after it.
    res.setHeader('Connection', 'close');
    if (!refused(res, err)) throw err;
    req.unpipe();
    req.resume();
  }
}

export function importUpload(ctx: ApiContext): Router {
  const r = Router();
  r.post('/v1/imports', requireRole(ctx.ds, 'admin'), (req, res) => postImport(ctx, req, res));
  return r;
}

export function importRoutes(ctx: ApiContext): Router {
  const r = Router();
  const { ds } = ctx;

  r.get('/v1/imports', requireRole(ds, 'viewer'), async (req, res) => {
    res.json(await listImports(ds, ctx.imports, ImportListQuery.parse(req.query)));
  });

  r.get('/v1/imports/:id', requireRole(ds, 'viewer'), async (req, res) => {
    res.json(await getImport(ds, ctx.imports, uuid.parse(req.params.id)));
  });

  r.get('/v1/imports/:id/differences', requireRole(ds, 'viewer'), async (req, res) => {
    const id = uuid.parse(req.params.id);
    const q = DifferencesQuery.parse(req.query);
    if (q.format === 'csv') {
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="import-${id}-${(q.code ?? 'all').toLowerCase()}.csv"`);
      return streamDifferencesCsv(ds, id, q.code, res);
    }
    const after = q.cursor === undefined ? undefined : parseDifferenceCursor(q.cursor);
    if (q.cursor !== undefined && !after) {
      return sendProblem(res, { status: 400, code: 'CURSOR_INVALID', title: 'The request is not valid', detail: 'cursor must be the next value of a previous page', errors: [{ field: 'cursor', code: 'CURSOR_INVALID', detail: 'not a cursor this API gave' }] });
    }
    res.json(await listDifferences(ds, id, { code: q.code, after, limit: q.limit }));
  });

  return r;
}
