import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { SCHEDULE_TYPES } from '../domain';

/**
 * The mapping file of a legacy import (YAML): how the lender's export names its columns and writes its values.
 * Every key is optional; without a mapping file the export is read as the standard shape (the column names below,
 * `,` between fields, UTF-8, `1234.56`, `yyyy-mm-dd`, the interest rate in percent per period).
 *
 *   delimiter: ";"              # , ; | or a tab
 *   encoding: latin1            # utf8 | latin1
 *   decimalSeparator: ","       # . | ,
 *   thousandsSeparator: "."     # none | . | , | space (never the decimal separator)
 *   dateFormat: dd/mm/yyyy      # yyyy-mm-dd | dd/mm/yyyy | mm/dd/yyyy | dd-mm-yyyy | dd.mm.yyyy
 *   interestRateUnit: percent   # percent ("5" = 5 % per period) | fraction ("0.05")
 *   scheduleTypes: { fijo: FLAT, frances: DECLINING }   # legacy schedule_type values → abono's
 *   credits:  { columns: { id: id_credito, amount: monto, ... } }   # standard name: the file's header
 *   payments: { columns: { credit_id: credito, ... } }
 */

/** The credits file's standard columns; `required` ones must be in the header. */
export const LEGACY_CREDIT_COLUMNS = {
  id: true,
  client_id: true,
  amount: true,
  interest_rate: true,
  total_installments: true,
  start_date: true,
  total_amount: true,
  installment_amount: true,
  paid_installments: true,
  balance: true,
  total_paid: true,
  schedule_type: false,
  period_days: false,
  status: false,
} as const;
export const LEGACY_PAYMENT_COLUMNS = {
  id: true,
  credit_id: true,
  amount: true,
  payment_date: true,
  installment_number: false,
  principal_portion: false,
  interest_portion: false,
} as const;
export type LegacyCreditColumn = keyof typeof LEGACY_CREDIT_COLUMNS;
export type LegacyPaymentColumn = keyof typeof LEGACY_PAYMENT_COLUMNS;
export type LegacyFileKind = 'credits' | 'payments';

export const DATE_FORMATS = ['yyyy-mm-dd', 'dd/mm/yyyy', 'mm/dd/yyyy', 'dd-mm-yyyy', 'dd.mm.yyyy'] as const;
export type DateFormat = (typeof DATE_FORMATS)[number];

const THOUSANDS = { none: null, '.': '.', ',': ',', space: ' ' } as const;

function columnsOf<K extends string>(names: Record<K, boolean>) {
  const shape = Object.fromEntries(Object.keys(names).map((k) => [k, z.string().trim().min(1, 'a column name cannot be empty').optional()])) as Record<K, z.ZodOptional<z.ZodString>>;
  return z.strictObject({ columns: z.strictObject(shape).default({} as never) }).default({ columns: {} } as never);
}

const MappingSchema = z
  .strictObject({
    delimiter: z.enum([',', ';', '|', '\t']).default(','),
    encoding: z.enum(['utf8', 'latin1']).default('utf8'),
    decimalSeparator: z.enum(['.', ',']).default('.'),
    thousandsSeparator: z.enum(['none', '.', ',', 'space']).default('none'),
    dateFormat: z.enum(DATE_FORMATS).default('yyyy-mm-dd'),
    interestRateUnit: z.enum(['percent', 'fraction']).default('percent'),
    scheduleTypes: z.record(z.string().min(1), z.enum(SCHEDULE_TYPES)).default({}),
    credits: columnsOf(LEGACY_CREDIT_COLUMNS),
    payments: columnsOf(LEGACY_PAYMENT_COLUMNS),
  })
  .superRefine((m, ctx) => {
    if (THOUSANDS[m.thousandsSeparator] === m.decimalSeparator) {
      ctx.addIssue({ code: 'custom', path: ['thousandsSeparator'], message: `cannot be the decimal separator "${m.decimalSeparator}"` });
    }
    for (const kind of ['credits', 'payments'] as const) {
      const seen = new Map<string, string>();
      for (const [std, header] of Object.entries(m[kind].columns) as Array<[string, string | undefined]>) {
        if (header === undefined) continue;
        const other = seen.get(header);
        if (other) ctx.addIssue({ code: 'custom', path: [kind, 'columns', std], message: `"${header}" is already the column of ${other}` });
        seen.set(header, std);
      }
    }
  });

/** A mapping, resolved: every setting has its value, and each file's columns are standard name → header. */
export interface LegacyMapping {
  delimiter: string;
  encoding: 'utf8' | 'latin1';
  decimalSeparator: '.' | ',';
  thousandsSeparator: '.' | ',' | ' ' | null;
  dateFormat: DateFormat;
  interestRateUnit: 'percent' | 'fraction';
  /** Legacy schedule_type value (as written, compared case-insensitively) → abono's scheduleType. */
  scheduleTypes: Record<string, (typeof SCHEDULE_TYPES)[number]>;
  credits: Record<LegacyCreditColumn, string>;
  payments: Record<LegacyPaymentColumn, string>;
}

export class MappingError extends Error {
  override name = 'MappingError';
  readonly code = 'MAPPING_INVALID';
  /** `path` is the setting at fault (e.g. "credits.columns.amount"); `line` its line in the file, when known. */
  constructor(readonly file: string, readonly path: string | null, readonly line: number | null, message: string) {
    super(message);
  }
}

function resolve(m: z.output<typeof MappingSchema>): LegacyMapping {
  const columns = <K extends string>(names: Record<K, boolean>, renames: Partial<Record<K, string>>) =>
    Object.fromEntries((Object.keys(names) as K[]).map((k) => [k, renames[k] ?? k])) as Record<K, string>;
  return {
    delimiter: m.delimiter,
    encoding: m.encoding,
    decimalSeparator: m.decimalSeparator,
    thousandsSeparator: THOUSANDS[m.thousandsSeparator],
    dateFormat: m.dateFormat,
    interestRateUnit: m.interestRateUnit,
    scheduleTypes: Object.fromEntries(Object.entries(m.scheduleTypes).map(([k, v]) => [k.toLowerCase(), v])),
    credits: columns(LEGACY_CREDIT_COLUMNS, m.credits.columns as Partial<Record<LegacyCreditColumn, string>>),
    payments: columns(LEGACY_PAYMENT_COLUMNS, m.payments.columns as Partial<Record<LegacyPaymentColumn, string>>),
  };
}

/** The standard shape (no mapping file). */
export const DEFAULT_MAPPING: LegacyMapping = resolve(MappingSchema.parse({}));

/**
 * Parses and validates a mapping file's text. Throws MappingError naming the setting at fault and its line: YAML
 * that does not parse, an unknown setting or column, a value outside its list, two columns read from one header.
 */
export function parseMapping(text: string, file = 'mapping.yaml'): LegacyMapping {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const lineAt = (offset: number | undefined) => (offset === undefined ? null : text.slice(0, offset).split('\n').length);
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e.linePos?.[0]?.line ?? lineAt(e.pos?.[0]);
    throw new MappingError(file, null, line, `${file}${line ? `, line ${line}` : ''}: not valid YAML (${e.message.split('\n')[0]})`);
  }
  const value: unknown = doc.toJS() ?? {};
  const parsed = MappingSchema.safeParse(value);
  if (parsed.success) return resolve(parsed.data);
  const issue = parsed.error.issues[0];
  const keys = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
  const path = keys.map(String).join('.');
  const node = doc.getIn(keys, true) as { range?: [number, number, number] } | undefined;
  const keyNode = keys.length > 0 ? (doc.getIn(keys.slice(0, -1), true) as { items?: Array<{ key?: { value?: unknown; range?: [number, number, number] } }> } | undefined) : undefined;
  const pair = keyNode?.items?.find((p) => p.key?.value === keys[keys.length - 1]);
  const line = lineAt(pair?.key?.range?.[0] ?? node?.range?.[0]);
  const known = keys[1] === 'columns' ? Object.keys(keys[0] === 'credits' ? LEGACY_CREDIT_COLUMNS : LEGACY_PAYMENT_COLUMNS) : null;
  const what =
    issue.code !== 'unrecognized_keys'
      ? issue.message
      : known
        ? `unknown column "${String(issue.keys[0])}" (the ${String(keys[0])} file's columns are ${known.join(', ')})`
        : `unknown setting "${String(issue.keys[0])}"`;
  throw new MappingError(file, path || null, line, `${file}${line ? `, line ${line}` : ''}${path ? `, ${path}` : ''}: ${what}`);
}

/** Reads and parses a mapping file (UTF-8). */
export async function readMappingFile(path: string): Promise<LegacyMapping> {
  return parseMapping(await readFile(path, 'utf8'), path.split(/[\\/]/).pop());
}
