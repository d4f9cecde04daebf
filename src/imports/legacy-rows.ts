import { pipeline, Readable, Transform } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import { isValidDate } from '../domain';
import { MAX_LINE_CHARS, strictUtf8 } from '../files/payment-file';
import { LEGACY_CREDIT_COLUMNS, LEGACY_PAYMENT_COLUMNS, LegacyFileKind, LegacyMapping } from './mapping';

/**
 * Reading a legacy export (credits.csv, payments.csv) as a stream of typed rows, one at a time (memory does not grow
 * with the file). Shapes only: a value that cannot be read (bytes that are not text in the file's encoding, a
 * missing column, a number or date that does not parse, more decimals than the field holds) stops the file with its
 * line and column named. Whether the legacy figures are right is the reconciliation's question, not this one.
 * Money and rates come out as exact decimal strings in plain notation ("1234.56", "-3.5"), dates as yyyy-mm-dd.
 */

export interface LegacyCreditRow {
  /** Line of the file the row ends on (the header is line 1). */
  line: number;
  id: string;
  clientId: string;
  /** The principal. */
  amount: string;
  /** As the legacy system stores it (see legacy-terms.ts for what it means to abono). */
  interestRate: string;
  totalInstallments: number;
  startDate: string;
  totalAmount: string;
  installmentAmount: string;
  paidInstallments: number;
  balance: string;
  totalPaid: string;
  scheduleType?: string;
  periodDays?: number;
  status?: string;
}

export interface LegacyPaymentRow {
  line: number;
  id: string;
  creditId: string;
  amount: string;
  paymentDate: string;
  installmentNumber?: number;
  principalPortion?: string;
  interestPortion?: string;
}

export type LegacyFileErrorCode =
  | 'LEGACY_FILE_ENCODING'
  | 'LEGACY_FILE_HEADER'
  | 'LEGACY_FILE_MALFORMED'
  | 'LEGACY_VALUE_MISSING'
  | 'LEGACY_NUMBER_INVALID'
  | 'LEGACY_TOO_MANY_DECIMALS'
  | 'LEGACY_DATE_INVALID';

/** A legacy file that cannot be read. `column` is the header as the file writes it, `field` the standard column. */
export class LegacyFileError extends Error {
  override name = 'LegacyFileError';
  constructor(
    readonly code: LegacyFileErrorCode,
    readonly file: string,
    readonly line: number,
    readonly column: string | null,
    readonly field: string | null,
    message: string,
  ) {
    super(message);
  }
}

/** How many decimals each kind of number may carry. Portions: the legacy computed them with a float ratio. */
export const MONEY_DECIMALS = 2;
export const RATE_DECIMALS = 10;
export const PORTION_DECIMALS = 12;
/** Integer digits of a legacy amount: abono stores NUMERIC(18,2). */
const MAX_INTEGER_DIGITS = 16;

type Kind = 'text' | 'int' | 'date' | { decimals: number };
interface Field {
  std: string;
  key: string;
  kind: Kind;
  required: boolean;
}

const money = { decimals: MONEY_DECIMALS };
const CREDIT_FIELDS: Array<[string, string, Kind]> = [
  ['id', 'id', 'text'],
  ['client_id', 'clientId', 'text'],
  ['amount', 'amount', money],
  ['interest_rate', 'interestRate', { decimals: RATE_DECIMALS }],
  ['total_installments', 'totalInstallments', 'int'],
  ['start_date', 'startDate', 'date'],
  ['total_amount', 'totalAmount', money],
  ['installment_amount', 'installmentAmount', money],
  ['paid_installments', 'paidInstallments', 'int'],
  ['balance', 'balance', money],
  ['total_paid', 'totalPaid', money],
  ['schedule_type', 'scheduleType', 'text'],
  ['period_days', 'periodDays', 'int'],
  ['status', 'status', 'text'],
];
const PAYMENT_FIELDS: Array<[string, string, Kind]> = [
  ['id', 'id', 'text'],
  ['credit_id', 'creditId', 'text'],
  ['amount', 'amount', money],
  ['payment_date', 'paymentDate', 'date'],
  ['installment_number', 'installmentNumber', 'int'],
  ['principal_portion', 'principalPortion', { decimals: PORTION_DECIMALS }],
  ['interest_portion', 'interestPortion', { decimals: PORTION_DECIMALS }],
];

/** Reads one value in the mapping's formats; throws a message (the caller adds line and column). */
export interface ValueReader {
  decimal(raw: string, decimals: number): string;
  int(raw: string): number;
  date(raw: string): string;
}

class ValueError extends Error {
  constructor(readonly code: LegacyFileErrorCode, message: string) {
    super(message);
  }
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The readers of numbers and dates for a mapping's decimal/thousands separators and date format. */
export function valueReader(mapping: Pick<LegacyMapping, 'decimalSeparator' | 'thousandsSeparator' | 'dateFormat'>): ValueReader {
  const dec = escape(mapping.decimalSeparator);
  const grouped = mapping.thousandsSeparator === null ? '\\d+' : `(?:\\d{1,3}(?:${escape(mapping.thousandsSeparator)}\\d{3})+|\\d+)`;
  const number = new RegExp(`^(-?)(${grouped})(?:${dec}(\\d+))?$`);
  const thousands = mapping.thousandsSeparator;
  const shape = `"1${thousands ?? ''}234${mapping.decimalSeparator}56"`;
  const datePattern = {
    'yyyy-mm-dd': { re: /^(\d{4})-(\d{2})-(\d{2})$/, y: 1, m: 2, d: 3 },
    'dd/mm/yyyy': { re: /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/, y: 3, m: 2, d: 1 },
    'mm/dd/yyyy': { re: /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/, y: 3, m: 1, d: 2 },
    'dd-mm-yyyy': { re: /^(\d{1,2})-(\d{1,2})-(\d{4})$/, y: 3, m: 2, d: 1 },
    'dd.mm.yyyy': { re: /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/, y: 3, m: 2, d: 1 },
  }[mapping.dateFormat];
  return {
    decimal(raw, decimals) {
      const m = number.exec(raw);
      if (!m) throw new ValueError('LEGACY_NUMBER_INVALID', `"${raw}" is not a number written like ${shape}`);
      const int = thousands === null ? m[2] : m[2].split(thousands).join('');
      if (int.replace(/^0+(?=\d)/, '').length > MAX_INTEGER_DIGITS) throw new ValueError('LEGACY_NUMBER_INVALID', `"${raw}" has more than ${MAX_INTEGER_DIGITS} integer digits`);
      const frac = m[3] ?? '';
      if (frac.length > decimals) throw new ValueError('LEGACY_TOO_MANY_DECIMALS', `"${raw}" has ${frac.length} decimals; this column holds at most ${decimals}`);
      const text = `${m[1]}${int}${frac ? `.${frac}` : ''}`;
      return /^-0+(\.0+)?$/.test(text) ? text.slice(1) : text;
    },
    int(raw) {
      if (!/^-?\d{1,9}$/.test(raw)) throw new ValueError('LEGACY_NUMBER_INVALID', `"${raw}" is not a whole number`);
      return Number(raw) || 0;
    },
    date(raw) {
      const m = datePattern.re.exec(raw);
      const iso = m ? `${m[datePattern.y]}-${m[datePattern.m].padStart(2, '0')}-${m[datePattern.d].padStart(2, '0')}` : '';
      if (!m || !isValidDate(iso)) throw new ValueError('LEGACY_DATE_INVALID', `"${raw}" is not a real date written ${mapping.dateFormat}`);
      return iso;
    },
  };
}

/** The inverse of valueReader: a plain decimal string and an ISO date written in the mapping's formats. */
export function valueWriter(mapping: Pick<LegacyMapping, 'decimalSeparator' | 'thousandsSeparator' | 'dateFormat'>): { decimal(plain: string): string; date(iso: string): string } {
  const thousands = mapping.thousandsSeparator;
  const [order, sep] = {
    'yyyy-mm-dd': [[0, 1, 2], '-'],
    'dd/mm/yyyy': [[2, 1, 0], '/'],
    'mm/dd/yyyy': [[1, 2, 0], '/'],
    'dd-mm-yyyy': [[2, 1, 0], '-'],
    'dd.mm.yyyy': [[2, 1, 0], '.'],
  }[mapping.dateFormat] as [number[], string];
  return {
    decimal(plain) {
      const [int, frac] = plain.split('.');
      const sign = int.startsWith('-') ? '-' : '';
      const digits = sign ? int.slice(1) : int;
      const grouped = thousands === null ? digits : digits.replace(/\B(?=(\d{3})+$)/g, thousands);
      return `${sign}${grouped}${frac === undefined ? '' : mapping.decimalSeparator + frac}`;
    },
    date(iso) {
      const parts = iso.split('-');
      return order.map((i) => parts[i]).join(sep);
    },
  };
}

/** Latin-1 text, decoded as Windows-1252 (its superset for printable characters, as WHATWG decoders do). */
function latin1(): Transform {
  const decoder = new TextDecoder('windows-1252');
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      done(null, decoder.decode(chunk, { stream: true }));
    },
  });
}

/** The header's columns, resolved to the fields this file reads: index in the record per field. */
function fieldsOf(kind: LegacyFileKind, mapping: LegacyMapping, header: string[], file: string): Array<Field & { index: number }> {
  const specs = kind === 'credits' ? CREDIT_FIELDS : PAYMENT_FIELDS;
  const required: Record<string, boolean> = kind === 'credits' ? LEGACY_CREDIT_COLUMNS : LEGACY_PAYMENT_COLUMNS;
  const names = mapping[kind] as Record<string, string>;
  const trimmed = header.map((h) => h.trim());
  const out: Array<Field & { index: number }> = [];
  for (const [std, key, fieldKind] of specs) {
    const name = names[std];
    const index = trimmed.indexOf(name);
    if (index !== trimmed.lastIndexOf(name)) throw new LegacyFileError('LEGACY_FILE_HEADER', file, 1, name, std, `${file}, line 1: the header names column "${name}" twice`);
    if (index === -1) {
      if (!required[std]) continue;
      const renamed = name === std ? '' : ` (the mapping's name for ${std})`;
      const other = trimmed.length === 1 ? [',', ';', '|', '\t'].find((d) => d !== mapping.delimiter && trimmed[0].includes(d)) : undefined;
      const hint = other ? ` (are its fields separated by "${other === '\t' ? '\\t' : other}"? say delimiter: in the mapping)` : '';
      throw new LegacyFileError('LEGACY_FILE_HEADER', file, 1, name, std, `${file}, line 1: the header has no column "${name}"${renamed}; it names ${trimmed.join(', ')}${hint}`);
    }
    out.push({ std, key, kind: fieldKind, required: required[std], index });
  }
  return out;
}

/**
 * The rows of one legacy file, typed. Runs csv-parse (the parser payment files use) over the decoded text, reads
 * the header once, then converts each record by column position. Throws LegacyFileError at the first value or line
 * that cannot be read.
 */
async function* readRows<T>(kind: LegacyFileKind, input: Readable, mapping: LegacyMapping, file: string): AsyncGenerator<T> {
  const values = valueReader(mapping);
  const decode = mapping.encoding === 'utf8' ? strictUtf8((line) => new LegacyFileError('LEGACY_FILE_ENCODING', file, line, null, null, `${file}, line ${line} is not valid UTF-8 text (is the file Latin-1? say encoding: latin1 in the mapping)`)) : latin1();
  const records = pipeline(
    input,
    decode,
    parseCsv({ delimiter: mapping.delimiter, info: true, bom: true, max_record_size: MAX_LINE_CHARS, skip_empty_lines: true, relax_column_count: false }),
    () => undefined, // the error, if any, reaches the loop below through the last stream
  ) as AsyncIterable<{ record: string[]; info: { lines: number } }>;
  let fields: Array<Field & { index: number }> | null = null;
  let header: string[] = [];
  try {
    for await (const { record, info } of records) {
      const line = info.lines;
      if (fields === null) {
        header = record.map((h) => h.trim());
        fields = fieldsOf(kind, mapping, record, file);
        continue;
      }
      const row: Record<string, unknown> = { line };
      for (const f of fields) {
        const raw = record[f.index].trim();
        if (raw === '') {
          if (f.required) throw new LegacyFileError('LEGACY_VALUE_MISSING', file, line, header[f.index], f.std, `${file}, line ${line}, column ${header[f.index]}: a value is required`);
          continue;
        }
        try {
          row[f.key] = f.kind === 'text' ? raw : f.kind === 'int' ? values.int(raw) : f.kind === 'date' ? values.date(raw) : values.decimal(raw, f.kind.decimals);
        } catch (err) {
          if (!(err instanceof ValueError)) throw err;
          throw new LegacyFileError(err.code, file, line, header[f.index], f.std, `${file}, line ${line}, column ${header[f.index]}: ${err.message}`);
        }
      }
      yield row as T;
    }
  } catch (err) {
    if (err instanceof LegacyFileError) throw err;
    const e = err as Error & { lines?: number };
    const line = e.lines ?? 1;
    throw new LegacyFileError('LEGACY_FILE_MALFORMED', file, line, null, null, `${file}, line ${line}: ${e.message}`);
  }
  if (fields === null) throw new LegacyFileError('LEGACY_FILE_HEADER', file, 1, null, null, `${file} is empty: line 1 must be the header row`);
}

/** The credits of a legacy export, in file order. */
export function readLegacyCredits(input: Readable, mapping: LegacyMapping, file = 'credits.csv'): AsyncGenerator<LegacyCreditRow> {
  return readRows<LegacyCreditRow>('credits', input, mapping, file);
}

/** The payments of a legacy export, in file order. */
export function readLegacyPayments(input: Readable, mapping: LegacyMapping, file = 'payments.csv'): AsyncGenerator<LegacyPaymentRow> {
  return readRows<LegacyPaymentRow>('payments', input, mapping, file);
}
