import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreditState, Decimal, Schedule, applyPayment, formatMoney, initialState, isDomainError, recompute, roundMoney } from '../../src/domain';
import { LegacyCreditRow, LegacyPaymentRow, readLegacyCredits, readLegacyPayments } from '../../src/imports/legacy-rows';
import { legacyTerms } from '../../src/imports/legacy-terms';
import { DEFAULT_MAPPING, LegacyMapping, readMappingFile } from '../../src/imports/mapping';
import { writeLegacyExport } from '../../tools/legacy-export';
import { PLANTS, PlantedCredit } from '../../tools/legacy-portfolio';

/**
 * The generator's promise, checked from its files alone: read back with the import's own readers, every credit is
 * recomputed here with the domain (terms, schedule, payments in (payment_date, legacy id) order through the
 * waterfall) and each legacy figure compared. An unplanted credit must equal the domain on every figure; a planted
 * one must differ exactly where its manifest entry says, and its codes must be the differences found.
 */

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'legacy-export-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function readExport(dir: string, mapping: LegacyMapping) {
  const credits: LegacyCreditRow[] = [];
  for await (const c of readLegacyCredits(createReadStream(join(dir, 'credits.csv')), mapping)) credits.push(c);
  const payments = new Map<string, LegacyPaymentRow[]>();
  for await (const p of readLegacyPayments(createReadStream(join(dir, 'payments.csv')), mapping)) {
    const list = payments.get(p.creditId) ?? payments.set(p.creditId, []).get(p.creditId)!;
    list.push(p);
  }
  return { credits, payments };
}

/** The codes a credit's legacy figures earn against the domain's, computed independently of the generator. */
function differences(credit: LegacyCreditRow, payments: LegacyPaymentRow[], mapping: LegacyMapping): string[] {
  const t = legacyTerms(credit, mapping);
  if (!t.ok) return ['TERMS_REFUSED'];
  const schedule: Schedule = t.schedule;
  let state: CreditState = initialState(schedule);
  const codes = new Set<string>();
  const ordered = [...payments].sort((a, b) => (a.paymentDate === b.paymentDate ? Number(a.id) - Number(b.id) : a.paymentDate < b.paymentDate ? -1 : 1));
  for (const p of ordered) {
    let applied;
    try {
      applied = applyPayment(schedule, state, { amount: new Decimal(p.amount), paymentDate: p.paymentDate });
    } catch (err) {
      if (isDomainError(err, 'AMOUNT_EXCEEDS_BALANCE') || isDomainError(err, 'CREDIT_NOT_ACTIVE')) {
        codes.add('OVERPAID');
        continue;
      }
      throw err;
    }
    state = applied.state;
    const a = applied.allocation;
    if (p.installmentNumber !== a.installmentNumber || !a.principal.eq(p.principalPortion!) || !a.interest.eq(p.interestPortion!)) codes.add('PORTION_DIFFERS');
  }
  if (!schedule.totalAmount.eq(credit.totalAmount)) codes.add('TOTAL_AMOUNT_DIFFERS');
  if (!schedule.installmentAmount.eq(credit.installmentAmount)) codes.add('INSTALLMENT_AMOUNT_DIFFERS');
  if (!state.totalPaid.eq(credit.totalPaid)) codes.add('TOTAL_PAID_DIFFERS');
  if (!state.balance.eq(credit.balance)) codes.add('BALANCE_DIFFERS');
  if (state.paidInstallments !== credit.paidInstallments) codes.add('PAID_INSTALLMENTS_DIFFERS');
  if (!new Decimal(credit.totalAmount).minus(credit.totalPaid).eq(credit.balance)) codes.add('BALANCE_NOT_TOTAL_MINUS_PAID');
  return [...codes].sort();
}

describe('the legacy export generator', () => {
  let standardDir: string;
  let manifest: { planted: PlantedCredit[]; summary: { credits: number; payments: number; plantedByCode: Record<string, number> } };

  beforeAll(async () => {
    standardDir = tmp();
    await writeLegacyExport({ credits: 320, outDir: standardDir, seed: 42 });
    manifest = JSON.parse(readFileSync(join(standardDir, 'manifest.json'), 'utf8'));
  });

  it('plants every failure mode of the seeds on known credits, and the manifest counts them', () => {
    expect(manifest.planted).toHaveLength(32);
    for (const plant of PLANTS) expect(manifest.summary.plantedByCode[plant]).toBe(4);
    expect(new Set(manifest.planted.map((p) => p.legacyId)).size).toBe(32);
  });

  it("reads back through the import's readers: exactly the planted credits differ from the domain, each by its planted codes", async () => {
    const { credits, payments } = await readExport(standardDir, DEFAULT_MAPPING);
    expect(credits).toHaveLength(320);
    expect([...payments.values()].reduce((n, l) => n + l.length, 0)).toBe(manifest.summary.payments);
    expect(manifest.summary.payments).toBeGreaterThan(320 * 6);
    const planted = new Map(manifest.planted.map((p) => [p.legacyId, p]));
    const found = new Map<string, string[]>();
    for (const c of credits) {
      const codes = differences(c, payments.get(c.id) ?? [], DEFAULT_MAPPING);
      if (codes.length > 0) found.set(c.id, codes);
    }
    expect([...found.keys()].sort()).toEqual([...planted.keys()].sort());
    for (const [id, p] of planted) expect({ id, codes: found.get(id) }).toEqual({ id, codes: [...p.codes].sort() });
  });

  it('plants float-ratio portions that differ from the exact split even once rounded to the cent', async () => {
    const { credits, payments } = await readExport(standardDir, DEFAULT_MAPPING);
    for (const p of manifest.planted.filter((x) => x.plant === 'PORTION_DIFFERS')) {
      const credit = credits.find((c) => c.id === p.legacyId)!;
      const t = legacyTerms(credit, DEFAULT_MAPPING);
      if (!t.ok) throw new Error(t.reason.message);
      const list = payments.get(p.legacyId)!;
      const exact = recompute(t.schedule, list.map((x) => ({ id: x.id, amount: new Decimal(x.amount), paymentDate: x.paymentDate })));
      const rounded = list.filter((x, i) => !roundMoney(x.principalPortion!).eq(exact.allocations[i].allocation.principal));
      expect(rounded.length).toBeGreaterThan(0);
    }
  });

  it('lists the payments beyond the total of an overpaid credit', async () => {
    const { payments } = await readExport(standardDir, DEFAULT_MAPPING);
    for (const p of manifest.planted.filter((x) => x.plant === 'OVERPAID')) {
      const list = payments.get(p.legacyId)!;
      expect(p.excessPaymentIds).toEqual([list[list.length - 1].id]);
    }
  });

  it('gives the same files for the same seed, and the same portfolio in the Spanish format (Latin-1, its mapping file)', async () => {
    const again = tmp();
    await writeLegacyExport({ credits: 320, outDir: again, seed: 42 });
    for (const f of ['credits.csv', 'payments.csv', 'manifest.json']) expect(readFileSync(join(again, f))).toEqual(readFileSync(join(standardDir, f)));

    const spanishDir = tmp();
    const res = await writeLegacyExport({ credits: 320, outDir: spanishDir, seed: 42, format: 'spanish' });
    expect(res.files.mapping).toBe(join(spanishDir, 'mapping.yaml'));
    const raw = readFileSync(join(spanishDir, 'credits.csv'));
    expect(raw.includes(Buffer.from('José', 'latin1'))).toBe(true);
    expect(raw.includes(Buffer.from('José', 'utf8'))).toBe(false);
    expect(raw.toString('latin1').split('\r\n')[1]).toMatch(/^1001;José [^;]+;[\d.]+,\d\d;/);

    const mapping = await readMappingFile(join(spanishDir, 'mapping.yaml'));
    const spanish = await readExport(spanishDir, mapping);
    const standard = await readExport(standardDir, DEFAULT_MAPPING);
    const figures = (c: LegacyCreditRow) => ({ ...c, clientId: undefined, status: undefined, scheduleType: undefined });
    expect(spanish.credits.map(figures)).toEqual(standard.credits.map(figures));
    expect(spanish.payments).toEqual(standard.payments);
    expect(spanish.credits.map((c) => legacyTerms(c, mapping).ok)).toEqual(standard.credits.map((c) => legacyTerms(c, DEFAULT_MAPPING).ok));
    expect(spanish.credits[0].clientId).toMatch(/^José /);
    expect(spanish.credits.some((c) => c.clientId.includes('Ruiz; hijo'))).toBe(true);
    expect(spanish.credits.some((c) => c.clientId.includes('Díaz "Tito"'))).toBe(true);
    const declining = spanish.credits.find((c) => c.scheduleType === 'francés')!;
    expect(legacyTerms(declining, mapping)).toMatchObject({ ok: true, terms: { scheduleType: 'DECLINING' } });
  });

  it('plants nothing when asked, and every credit then equals the domain', async () => {
    const dir = tmp();
    const res = await writeLegacyExport({ credits: 60, outDir: dir, seed: 9, plantEvery: 0 });
    expect(Object.values(res.planted).every((n) => n === 0)).toBe(true);
    const { credits, payments } = await readExport(dir, DEFAULT_MAPPING);
    for (const c of credits) expect({ id: c.id, codes: differences(c, payments.get(c.id) ?? [], DEFAULT_MAPPING) }).toEqual({ id: c.id, codes: [] });
    expect(formatMoney(new Decimal(credits[0].totalAmount))).toBe(credits[0].totalAmount);
  });
});
