/**
 * npm run legacy-export -- --credits N [--out DIR] [--format standard|spanish] [--seed S] [--as-of yyyy-mm-dd] [--plant-every K]
 *
 * Writes a legacy export (credits.csv, payments.csv; for the Spanish format also mapping.yaml: `;`, decimal comma,
 * dd/mm/yyyy, Latin-1 bytes, Spanish column names) of a portfolio abono's domain computes, with the seeds' failure
 * modes planted on every K-th credit, and manifest.json naming each planted credit and the codes the reconciliation
 * must report for it. Streams: memory stays flat whatever N. Also a library: `writeLegacyExport`.
 */
import { once } from 'node:events';
import { createWriteStream, mkdirSync, WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { csvLine } from '../src/db/csv-stream';
import { isValidDate } from '../src/domain';
import { valueWriter } from '../src/imports/legacy-rows';
import { DEFAULT_MAPPING, LegacyMapping, parseMapping } from '../src/imports/mapping';
import { generateCredit, LegacyCredit, LegacyPayment, Plant, PLANTS, rng } from './legacy-portfolio';

export type LegacyExportFormat = 'standard' | 'spanish';

export interface LegacyExportOptions {
  credits: number;
  outDir: string;
  format?: LegacyExportFormat;
  seed?: number;
  /** The export's day: no payment is dated after it. Fixed by default, so a seed always gives the same files. */
  asOf?: string;
  /** One credit in this many carries a plant (the plants taking turns); 0 plants none. */
  plantEvery?: number;
}

export interface LegacyExportResult {
  dir: string;
  files: { credits: string; payments: string; manifest: string; mapping: string | null };
  format: LegacyExportFormat;
  credits: number;
  payments: number;
  planted: Record<Plant, number>;
  elapsedMs: number;
  peakRssBytes: number;
}

/** The Spanish lender's mapping file, exactly as the generator writes it (and reads its own formats back from). */
export const SPANISH_MAPPING_YAML = `# Exportación del sistema anterior: ";" entre campos, coma decimal, fechas dd/mm/aaaa, Latin-1
delimiter: ";"
encoding: latin1
decimalSeparator: ","
thousandsSeparator: "."
dateFormat: dd/mm/yyyy
interestRateUnit: percent
scheduleTypes: { fijo: FLAT, "francés": DECLINING }
credits:
  columns:
    id: id_credito
    client_id: cliente
    amount: monto
    interest_rate: tasa_interes
    total_installments: cuotas
    start_date: fecha_inicio
    total_amount: monto_total
    installment_amount: valor_cuota
    paid_installments: cuotas_pagadas
    balance: saldo
    total_paid: total_pagado
    schedule_type: tipo_plan
    period_days: dias_periodo
    status: estado
payments:
  columns:
    id: id_pago
    credit_id: id_credito
    amount: monto
    payment_date: fecha_pago
    installment_number: numero_cuota
    principal_portion: porcion_capital
    interest_portion: porcion_interes
`;

const CREDIT_ORDER = ['id', 'client_id', 'amount', 'interest_rate', 'total_installments', 'start_date', 'total_amount', 'installment_amount', 'paid_installments', 'balance', 'total_paid', 'schedule_type', 'period_days', 'status'] as const;
const PAYMENT_ORDER = ['id', 'credit_id', 'amount', 'payment_date', 'installment_number', 'principal_portion', 'interest_portion'] as const;
const SPANISH_WORDS: Record<string, string> = { FLAT: 'fijo', DECLINING: 'francés', active: 'vigente', paid: 'cancelado' };

/** A file written in chunks, waiting for the disk when its buffer is full (backpressure). */
class ChunkedFile {
  private chunk = '';
  private readonly out: WriteStream;
  constructor(readonly path: string, private readonly encoding: BufferEncoding) {
    this.out = createWriteStream(path);
  }
  async write(text: string): Promise<void> {
    this.chunk += text;
    if (this.chunk.length < 256 * 1024) return;
    const buf = Buffer.from(this.chunk, this.encoding);
    this.chunk = '';
    if (!this.out.write(buf)) await once(this.out, 'drain');
  }
  async close(): Promise<void> {
    if (this.chunk) this.out.write(Buffer.from(this.chunk, this.encoding));
    this.out.end();
    await once(this.out, 'finish');
  }
}

/** Writes the export; resolves once every file is on disk. */
export async function writeLegacyExport(options: LegacyExportOptions): Promise<LegacyExportResult> {
  const started = performance.now();
  const format = options.format ?? 'standard';
  const asOf = options.asOf ?? '2026-06-30';
  const plantEvery = options.plantEvery ?? 10;
  if (!Number.isSafeInteger(options.credits) || options.credits < 0) throw new Error('--credits must be a whole number ≥ 0');
  if (!isValidDate(asOf)) throw new Error('--as-of must be a date written yyyy-mm-dd');
  const dir = resolve(options.outDir);
  mkdirSync(dir, { recursive: true });
  const spanish = format === 'spanish';
  const mapping: LegacyMapping = spanish ? parseMapping(SPANISH_MAPPING_YAML) : DEFAULT_MAPPING;
  const values = valueWriter(mapping);
  const encoding: BufferEncoding = mapping.encoding === 'latin1' ? 'latin1' : 'utf8';
  const line = (cells: Array<string | number | undefined>) => csvLine(cells, mapping.delimiter);
  const word = (w: string) => (spanish ? SPANISH_WORDS[w] ?? w : w);
  const money = (x: string | undefined) => (x === undefined ? undefined : values.decimal(x));

  const files = {
    credits: join(dir, 'credits.csv'),
    payments: join(dir, 'payments.csv'),
    manifest: join(dir, 'manifest.json'),
    mapping: spanish ? join(dir, 'mapping.yaml') : null,
  };
  const credits = new ChunkedFile(files.credits, encoding);
  const payments = new ChunkedFile(files.payments, encoding);
  const manifest = new ChunkedFile(files.manifest, 'utf8');
  const extraCreditColumn = spanish ? ['observaciones'] : []; // a column the mapping does not name: ignored on import
  await credits.write(line([...CREDIT_ORDER.map((c) => mapping.credits[c]), ...extraCreditColumn]));
  await payments.write(line(PAYMENT_ORDER.map((c) => mapping.payments[c])));
  await manifest.write(`{"format":${JSON.stringify(format)},"seed":${options.seed ?? 1},"asOf":"${asOf}","plantEvery":${plantEvery},"planted":[\n`);

  const r = rng(options.seed ?? 1);
  let paymentId = 0;
  const nextPaymentId = () => String(++paymentId);
  const planted = Object.fromEntries(PLANTS.map((p) => [p, 0])) as Record<Plant, number>;
  let peakRssBytes = process.memoryUsage().rss;
  let first = true;
  for (let i = 0; i < options.credits; i++) {
    const legacyId = String(1001 + i);
    const clientId = spanish ? `${FIRST_NAMES[i % FIRST_NAMES.length]} ${LAST_NAMES[(i * 7) % LAST_NAMES.length]} ${i + 1}` : `CL-${String(i + 1).padStart(7, '0')}`;
    const plant = plantEvery > 0 && i % plantEvery === plantEvery - 1 ? PLANTS[Math.floor(i / plantEvery) % PLANTS.length] : null;
    const g = generateCredit(r, legacyId, clientId, asOf, plant, nextPaymentId);
    // A payment keyed in later for an earlier day (its legacy id after a later-dated one): import orders by date.
    if (!plant && g.payments.length >= 2 && r() < 0.03) swapLastIds(g.payments);
    await credits.write(creditLine(g.credit, values, money, word, line, spanish));
    for (const p of g.payments) await payments.write(paymentLine(p, values, money, line));
    if (g.planted) {
      planted[g.planted.plant]++;
      await manifest.write(`${first ? '' : ',\n'}${JSON.stringify(g.planted)}`);
      first = false;
    }
    if ((i & 0xffff) === 0) peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
  }
  const summary = { credits: options.credits, payments: paymentId, plantedCredits: Object.values(planted).reduce((a, b) => a + b, 0), plantedByCode: planted };
  await manifest.write(`\n],"summary":${JSON.stringify(summary)}}\n`);
  await Promise.all([credits.close(), payments.close(), manifest.close()]);
  if (files.mapping) {
    const m = new ChunkedFile(files.mapping, 'utf8');
    await m.write(SPANISH_MAPPING_YAML);
    await m.close();
  }
  peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
  return { dir, files, format, credits: options.credits, payments: paymentId, planted, elapsedMs: Math.round(performance.now() - started), peakRssBytes };
}

const FIRST_NAMES = ['José', 'María', 'Ángel', 'Begoña', 'Íñigo', 'Lucía', 'Raúl', 'Sofía', 'Jesús', 'Inés', 'Óscar', 'Úrsula', 'Nuria', 'Álvaro', 'Noé', 'Zoë'];
const LAST_NAMES = ['Muñoz', 'Peña', 'Gómez', 'Ibáñez', 'Núñez', 'Güell', 'Pérez', 'Martín', 'Sánchez', 'Rodríguez', 'Castaño', 'Calderón', "O'Connor", 'Ruiz; hijo', 'Díaz "Tito"'];

function swapLastIds(ps: LegacyPayment[]): void {
  const [a, b] = [ps[ps.length - 2], ps[ps.length - 1]];
  [a.id, b.id] = [b.id, a.id];
  ps.sort((x, y) => Number(x.id) - Number(y.id));
}

type Writer = ReturnType<typeof valueWriter>;
type Line = (cells: Array<string | number | undefined>) => string;

function creditLine(c: LegacyCredit, values: Writer, money: (x: string | undefined) => string | undefined, word: (w: string) => string, line: Line, spanish: boolean): string {
  const cells = [c.id, c.clientId, money(c.amount), values.decimal(c.interestRate), c.totalInstallments, values.date(c.startDate), money(c.totalAmount), money(c.installmentAmount), c.paidInstallments, money(c.balance), money(c.totalPaid), word(c.scheduleType), c.periodDays, word(c.status)];
  return line(spanish ? [...cells, 'Crédito de consumo, revisión pendiente'] : cells);
}

function paymentLine(p: LegacyPayment, values: Writer, money: (x: string | undefined) => string | undefined, line: Line): string {
  return line([p.id, p.creditId, money(p.amount), values.date(p.paymentDate), p.installmentNumber, money(p.principalPortion), money(p.interestPortion)]);
}

function args(argv: string[]): LegacyExportOptions {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i === -1 ? undefined : argv[i + 1];
  };
  const credits = Number(get('credits'));
  const format = (get('format') ?? 'standard') as LegacyExportFormat;
  if (!Number.isSafeInteger(credits) || credits < 0) throw new Error('usage: npm run legacy-export -- --credits N [--out DIR] [--format standard|spanish] [--seed S] [--as-of yyyy-mm-dd] [--plant-every K]');
  if (format !== 'standard' && format !== 'spanish') throw new Error('--format is standard or spanish');
  const num = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new Error(`--${name} must be a whole number`);
    return Number(v);
  };
  return { credits, format, outDir: get('out') ?? join('.data', 'legacy-export'), seed: num(get('seed'), 'seed'), asOf: get('as-of'), plantEvery: num(get('plant-every'), 'plant-every') };
}

if (require.main === module) {
  writeLegacyExport(args(process.argv.slice(2)))
    .then((res) => console.log(JSON.stringify(res, null, 2)))
    .catch((err: Error) => {
      console.error(err.message);
      process.exitCode = 1;
    });
}
