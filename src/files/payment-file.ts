import { pipeline, Readable, Transform } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import split2 from 'split2';
import { isValidDate, parsePositiveMoney, formatMoney } from '../domain';

/**
 * Reading a payment file (CSV with a header row, or NDJSON) as a stream of checked lines. Shapes only: a line
 * whose fields are malformed stops the whole file with its line and column named; whether a payment breaks a
 * rule (balance, dates, credit status) is decided later, by the domain, line by line.
 */

export const PAYMENT_FILE_FORMATS = { 'text/csv': 'CSV', 'application/x-ndjson': 'NDJSON' } as const;
export type PaymentFileFormat = (typeof PAYMENT_FILE_FORMATS)[keyof typeof PAYMENT_FILE_FORMATS];
export const PAYMENT_FILE_COLUMNS = ['creditId', 'creditExternalId', 'amount', 'paymentDate', 'reference', 'lineKey'] as const;
type Column = (typeof PAYMENT_FILE_COLUMNS)[number];

/** Longest line a file may hold, in characters (a payment line is well under 1 KB). */
export const MAX_LINE_CHARS = 16 * 1024;

export interface PaymentFileLine {
  lineNumber: number;
  creditId: string | null;
  creditExternalId: string | null;
  amount: string;
  paymentDate: string | null;
  reference: string | null;
  lineKey: string;
}

export class PaymentFileError extends Error {
  override name = 'PaymentFileError';
  constructor(readonly line: number, readonly column: string | null, message: string, readonly code = 'PAYMENT_FILE_INVALID') {
    super(message);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KEY = /^[\x21-\x7e]{1,200}$/;
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

/**
 * Strict UTF-8: a byte sequence that is not valid UTF-8 stops the file at the line it is on. The bytes are decoded
 * a line at a time (a newline byte is never part of a multi-byte character), so the failing line is known.
 * `fail` makes the error of the caller's file kind (the legacy import's files use it too).
 */
export function strictUtf8(fail: (line: number) => Error = (line) => new PaymentFileError(line, null, `line ${line} is not valid UTF-8 text`, 'PAYMENT_FILE_ENCODING')): Transform {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  const invalid = () => fail(line);
  return new Transform({
    decodeStrings: true,
    transform(chunk: Buffer, _enc, done) {
      let out = '';
      for (let start = 0; ; ) {
        const nl = chunk.indexOf(10, start);
        const end = nl === -1 ? chunk.length : nl + 1;
        try {
          out += decoder.decode(chunk.subarray(start, end), { stream: true });
        } catch {
          return done(invalid());
        }
        if (nl === -1) break;
        line++;
        start = end;
      }
      done(null, out);
    },
    flush(done) {
      try {
        done(null, decoder.decode());
      } catch {
        done(invalid());
      }
    },
  });
}

const text = (v: unknown): string | null => (v === undefined || v === null || v === '' ? null : typeof v === 'string' ? v : String(v));

/** Checks one record's fields; the line key defaults to `<file key>:<line number>`. */
export function checkLine(raw: Record<string, unknown>, lineNumber: number, fileKey: string): PaymentFileLine {
  const fail = (column: Column, why: string) => new PaymentFileError(lineNumber, column, `line ${lineNumber}, column ${column}: ${why}`);
  for (const [k, v] of Object.entries(raw)) {
    if (!(PAYMENT_FILE_COLUMNS as readonly string[]).includes(k)) throw new PaymentFileError(lineNumber, k, `line ${lineNumber}: unknown column ${k}`);
    if (v !== null && typeof v !== 'string') throw fail(k as Column, 'must be a string');
    if (typeof v === 'string' && UNSAFE.test(v)) throw fail(k as Column, 'holds control or invisible characters');
  }
  const creditId = text(raw.creditId);
  const creditExternalId = text(raw.creditExternalId);
  if (!creditId && !creditExternalId) throw fail('creditId', 'creditId or creditExternalId is required');
  if (creditId && creditExternalId) throw fail('creditExternalId', 'give creditId or creditExternalId, not both');
  if (creditId && !UUID.test(creditId)) throw fail('creditId', 'must be a UUID');
  if (creditExternalId && creditExternalId.length > 100) throw fail('creditExternalId', 'is at most 100 characters');
  let amount: string;
  try {
    amount = formatMoney(parsePositiveMoney(raw.amount, 'amount'));
  } catch {
    throw fail('amount', `"${String(raw.amount ?? '')}" is not a plain decimal greater than 0 with at most 2 decimals`);
  }
  const paymentDate = text(raw.paymentDate);
  if (paymentDate && !isValidDate(paymentDate)) throw fail('paymentDate', 'must be a real date as YYYY-MM-DD');
  const reference = text(raw.reference);
  if (reference && reference.length > 200) throw fail('reference', 'is at most 200 characters');
  const lineKey = text(raw.lineKey) ?? `${fileKey}:${lineNumber}`;
  if (!KEY.test(lineKey)) throw fail('lineKey', 'must be 1 to 200 printable ASCII characters without spaces');
  return { lineNumber, creditId: creditId?.toLowerCase() ?? null, creditExternalId, amount, paymentDate, reference, lineKey };
}

function checkHeader(header: string[]): string[] {
  const unknown = header.find((h) => !(PAYMENT_FILE_COLUMNS as readonly string[]).includes(h));
  if (unknown !== undefined) throw new PaymentFileError(1, unknown, `line 1: unknown column "${unknown}" (the header names ${PAYMENT_FILE_COLUMNS.join(', ')})`, 'PAYMENT_FILE_HEADER');
  if (!header.includes('amount')) throw new PaymentFileError(1, 'amount', 'line 1: the header row must name the amount column', 'PAYMENT_FILE_HEADER');
  if (!header.includes('creditId') && !header.includes('creditExternalId')) {
    throw new PaymentFileError(1, 'creditId', 'line 1: the header row must name creditId or creditExternalId', 'PAYMENT_FILE_HEADER');
  }
  return header;
}

async function* csvLines(body: Readable, fileKey: string): AsyncGenerator<PaymentFileLine> {
  const parser = pipeline(
    body,
    strictUtf8(),
    parseCsv({ columns: checkHeader, info: true, max_record_size: MAX_LINE_CHARS, skip_empty_lines: true, bom: true, relax_column_count: false }),
    () => undefined, // the error, if any, reaches the loop below through the last stream
  );
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      yield checkLine(record, info.lines, fileKey);
    }
  } catch (err) {
    if (err instanceof PaymentFileError) throw err;
    const e = err as Error & { lines?: number; code?: string };
    const line = e.lines ?? 1;
    throw new PaymentFileError(line, null, `line ${line}: ${e.message}`);
  }
}

async function* ndjsonLines(body: Readable, fileKey: string): AsyncGenerator<PaymentFileLine> {
  let lineNumber = 0;
  const lines = pipeline(body, strictUtf8(), split2({ maxLength: MAX_LINE_CHARS }), () => undefined);
  try {
    for await (const line of lines as AsyncIterable<string>) {
      lineNumber++;
      if (line.trim() === '') continue;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        throw new PaymentFileError(lineNumber, null, `line ${lineNumber} is not a JSON object`);
      }
      if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new PaymentFileError(lineNumber, null, `line ${lineNumber} is not a JSON object`);
      yield checkLine(record as Record<string, unknown>, lineNumber, fileKey);
    }
  } catch (err) {
    if (err instanceof PaymentFileError) throw err;
    throw new PaymentFileError(lineNumber + 1, null, `line ${lineNumber + 1}: ${(err as Error).message}`);
  }
}

/** The file's lines, checked, in file order; throws PaymentFileError at the first line that is not well formed. */
export function readPaymentFile(body: Readable, format: PaymentFileFormat, fileKey: string): AsyncGenerator<PaymentFileLine> {
  return format === 'CSV' ? csvLines(body, fileKey) : ndjsonLines(body, fileKey);
}
