import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLegacyExport } from '../../tools/legacy-export';
import { verifyAuditChain } from '../../src/db/audit-chain';
import { findInconsistentCredits } from '../support/consistency';
import { snapshot } from '../support/db';
import { call, startTestApp, TestApp } from '../support/harness';
import { codesByCredit, CREDITS_HEADER, legacyExport, PAYMENTS_HEADER, uploadImport, waitForImport } from '../support/imports';

describe('importing a legacy book: every credit with its history, and where the old balances were wrong', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ IMPORT_CHUNK_CREDITS: '3' });
  });
  afterAll(async () => {
    await app?.stop();
  });
  const ds = () => app.abono.ds;
  const viewCredit = async (externalId: string) => (await call(app, 'GET', `/v1/credits?externalId=${externalId}`, { key: app.keys.viewer })).body.credits[0];

  it("loads every credit abono accepts with abono's figures, reports exactly the planted credits with their codes, and audits the legacy values", async () => {
    const x = legacyExport(`A${randomUUID().slice(0, 6)}-`);
    const upload = await uploadImport(app, x);
    expect(upload.status).toBe(202);
    expect(upload.headers.get('location')).toBe(`/v1/imports/${upload.body.id}`);
    const done = await waitForImport(app, upload.body.id);
    expect(done).toMatchObject({ status: 'COMPLETED', mode: 'APPLY', files: { credits: { rows: 8 }, payments: { rows: 17 } }, credits: { loaded: 7, refused: 1, unchanged: 0, withDifferences: 6 } });
    expect(done.temporalUiUrl).toContain(`/workflows/import-${upload.body.id}`);
    expect(done.differences.OVERPAID).toEqual({ count: 1, credits: 1, amountAtStake: '100.00' });
    expect(done.differences.TOTAL_PAID_DIFFERS).toEqual({ count: 2, credits: 2, amountAtStake: '400.00' });
    expect(await codesByCredit(app, upload.body.id)).toEqual(x.planted);

    // Credit 6 (overpaid): paid off by its first payment; the second was not applied. Credit 8: applied by date.
    expect(await viewCredit(x.id(6))).toMatchObject({ totalPaid: '1200.00', balance: '0.00', status: 'PAID_OFF', paymentCount: 1 });
    const eight = await viewCredit(x.id(8));
    expect(eight).toMatchObject({ totalPaid: '650.00', balance: '550.00', paidInstallments: 2, paymentCount: 2 });
    const payments = (await call(app, 'GET', `/v1/credits/${eight.id}/payments`, { key: app.keys.viewer })).body;
    expect(JSON.stringify(payments)).toContain('291.67');
    expect(await viewCredit(x.id(7))).toBeUndefined(); // refused terms: never loaded

    // The credit's first audit entry holds the legacy values and the differences.
    const [first] = await ds().query(`SELECT action, details FROM audit_log a JOIN credits c ON c.id = a.credit_id WHERE c.external_id = $1 ORDER BY a.id LIMIT 1`, [x.id(2)]);
    expect(first.action).toBe('credit.imported');
    expect(first.details).toMatchObject({ importId: upload.body.id, legacy: { total_paid: '950.00', balance: '250.00' }, abono: { totalPaid: '650.00', balance: '550.00' } });
    expect(first.details.differences.map((d: { code: string }) => d.code)).toEqual(['TOTAL_PAID_DIFFERS', 'BALANCE_DIFFERS']);

    expect((await findInconsistentCredits(ds())).inconsistent).toEqual([]);
    expect(await verifyAuditChain(ds())).toMatchObject({ broken: 0 });

    const csv = await fetch(`${app.url}/v1/imports/${upload.body.id}/differences?code=PORTION_DIFFERS&format=csv`, { headers: { authorization: `Bearer ${app.keys.viewer}` } });
    const lines = (await csv.text()).trim().split(/\r?\n/);
    expect(lines[0]).toBe('legacyCreditId,creditId,code,field,legacyValue,abonoValue,amountAtStake,paymentLegacyId,detail');
    expect(lines.slice(1).map((l) => l.split(',').slice(2, 6))).toEqual([['PORTION_DIFFERS', 'principal_portion', '291.666666666667', '291.67']]);
  });

  it('a generated legacy export (npm run legacy-export): exactly the planted credits are reported, each with its planted codes', async () => {
    const out = await writeLegacyExport({ credits: 400, outDir: mkdtempSync(join(tmpdir(), 'abono-legacy-')), seed: 7, format: 'spanish' });
    const manifest = JSON.parse(readFileSync(out.files.manifest, 'utf8'));
    const files = { credits: readFileSync(out.files.credits), payments: readFileSync(out.files.payments), mapping: readFileSync(out.files.mapping!, 'utf8') };
    const done = await waitForImport(app, (await uploadImport(app, files)).body.id);
    const refused = manifest.planted.filter((p: { plant: string }) => p.plant === 'TERMS_REFUSED').length;
    expect(done).toMatchObject({ status: 'COMPLETED', files: { credits: { rows: 400 }, payments: { rows: out.payments } }, credits: { loaded: 400 - refused, refused } });
    const planted = Object.fromEntries(manifest.planted.map((p: { legacyId: string; codes: string[] }) => [p.legacyId, [...p.codes].sort()]));
    expect(await codesByCredit(app, done.id, 500)).toEqual(planted);
    expect((await findInconsistentCredits(ds())).inconsistent).toEqual([]);
    expect(await verifyAuditChain(ds())).toMatchObject({ broken: 0 });
  });

  it('a dry run writes the reconciliation only; a second import of the same files changes nothing; a changed legacy row is refused', async () => {
    const x = legacyExport(`B${randomUUID().slice(0, 6)}-`);
    const before = await snapshot(ds());
    const dry = await waitForImport(app, (await uploadImport(app, { ...x, mode: 'DRY_RUN' })).body.id);
    expect(dry).toMatchObject({ status: 'COMPLETED', mode: 'DRY_RUN', credits: { loaded: 7, refused: 1 } });
    expect(await codesByCredit(app, dry.id)).toEqual(x.planted);
    expect(await snapshot(ds())).toEqual(before);

    const first = await waitForImport(app, (await uploadImport(app, x)).body.id);
    expect(first.credits).toMatchObject({ loaded: 7 });
    const loaded = await snapshot(ds());
    const again = await waitForImport(app, (await uploadImport(app, x)).body.id);
    expect(again.credits).toMatchObject({ loaded: 0, unchanged: 7, refused: 1 });
    expect(await snapshot(ds())).toEqual(loaded);

    // The legacy system moved on: credit 1 took another payment, credit 3's paid_installments was corrected.
    const changed = {
      credits: x.credits.replace(`${x.id(3)},client-3,1000.00,5,4,2025-01-01,1200.00,300.00,1,`, `${x.id(3)},client-3,1000.00,5,4,2025-01-01,1200.00,300.00,2,`),
      payments: x.payments + `${x.id(900)},${x.id(1)},50.00,2025-03-05,,,\n`,
    };
    const third = await waitForImport(app, (await uploadImport(app, changed)).body.id);
    expect(third.credits).toMatchObject({ loaded: 0, unchanged: 5, refused: 3 });
    const codes = await codesByCredit(app, third.id);
    expect([codes[x.id(1)], codes[x.id(3)]]).toEqual([['ALREADY_IMPORTED_DIFFERENTLY'], ['ALREADY_IMPORTED_DIFFERENTLY']]);
    const three = (await call(app, 'GET', `/v1/imports/${third.id}/differences?code=ALREADY_IMPORTED_DIFFERENTLY`, { key: app.keys.viewer })).body.differences;
    expect(three.find((d: { legacyCreditId: string }) => d.legacyCreditId === x.id(3))).toMatchObject({ field: 'paid_installments', legacyValue: '2', abonoValue: '1' });
    expect(await snapshot(ds())).toEqual(loaded);
  });

  it('reads a Spanish-format export (;, decimal comma, dd/mm/yyyy, Latin-1, its own column names) through a mapping', async () => {
    const x = legacyExport(`C${randomUUID().slice(0, 6)}-`);
    const toSpanish = (csv: string) =>
      csv
        .split('\n')
        .map((line) => line.split(',').map((v) => v.replace(/^(-?\d+)\.(\d+)$/, '$1,$2').replace(/^(\d{4})-(\d{2})-(\d{2})$/, '$3/$2/$1')).join(';'))
        .join('\n')
        .replace(/1200,00/g, '1.200,00')
        .replace(/client-/g, 'señor-');
    const credits = Buffer.from(toSpanish(x.credits).replace(CREDITS_HEADER.split(',').join(';'), 'id_credito;cliente;monto;tasa;cuotas;fecha_inicio;total;cuota;cuotas_pagadas;saldo;total_abonado'), 'latin1');
    const payments = Buffer.from(toSpanish(x.payments).replace(PAYMENTS_HEADER.split(',').join(';'), 'id_abono;credito;monto;fecha;cuota;capital;interes'), 'latin1');
    const mapping = [
      'delimiter: ";"',
      'encoding: latin1',
      'decimalSeparator: ","',
      'thousandsSeparator: "."',
      'dateFormat: dd/mm/yyyy',
      'credits: { columns: { id: id_credito, client_id: cliente, amount: monto, interest_rate: tasa, total_installments: cuotas, start_date: fecha_inicio, total_amount: total, installment_amount: cuota, paid_installments: cuotas_pagadas, balance: saldo, total_paid: total_abonado } }',
      'payments: { columns: { id: id_abono, credit_id: credito, amount: monto, payment_date: fecha, installment_number: cuota, principal_portion: capital, interest_portion: interes } }',
    ].join('\n');
    const done = await waitForImport(app, (await uploadImport(app, { credits, payments, mapping })).body.id);
    expect(done).toMatchObject({ status: 'COMPLETED', credits: { loaded: 7, refused: 1 } });
    expect(await codesByCredit(app, done.id)).toEqual(x.planted);
    expect(await viewCredit(x.id(1))).toMatchObject({ totalPaid: '650.00', paidInstallments: 2 });
    expect(await ds().query(`SELECT client_id FROM credits WHERE external_id = $1`, [x.id(1)])).toEqual([{ client_id: 'señor-1' }]);
  });

  it('npm run cli -- import: a dry run, then the committing run, each followed to its summary by code', async () => {
    const x = legacyExport(`E${randomUUID().slice(0, 6)}-`);
    const dir = mkdtempSync(join(tmpdir(), 'abono-import-cli-'));
    writeFileSync(join(dir, 'credits.csv'), x.credits);
    writeFileSync(join(dir, 'payments.csv'), x.payments);
    const cli = (...extra: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', join(__dirname, '../../src/cli/main.ts'), 'import', '--credits', join(dir, 'credits.csv'), '--payments', join(dir, 'payments.csv'), '--follow', ...extra], {
        env: { ...process.env, ABONO_API_URL: app.url, ABONO_API_KEY: app.keys.admin },
      });
    const dry = await cli('--dry-run');
    expect(dry.stdout).toMatch(/accepted: import .* \(8 credits, 17 payments, DRY_RUN\)/);
    expect(dry.stdout).toMatch(/COMPLETED/);
    expect(dry.stdout).toMatch(/OVERPAID\s*│?\s*1\s*│?\s*1\s*│?\s*100\.00/);
    expect(await viewCredit(x.id(1))).toBeUndefined();
    const run = await cli();
    expect(run.stdout).toMatch(/loaded\s*│?\s*7/);
    expect(run.stdout).toMatch(/TERMS_REFUSED\s*│?\s*1/);
    expect(await viewCredit(x.id(1))).toMatchObject({ totalPaid: '650.00' });
  });

  it('refuses an unreadable file with its file, line and column, and records nothing', async () => {
    const x = legacyExport(`D${randomUUID().slice(0, 6)}-`);
    const count = async () => (await ds().query(`SELECT (SELECT count(*) FROM imports)::int AS imports, (SELECT count(*) FROM import_credits)::int AS staged`))[0];
    const before = await count();
    const bad = x.payments.replace('350.00,2025-02-05', '350.00,2025-02-30');
    const res = await uploadImport(app, { ...x, payments: bad });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    expect(res.body).toMatchObject({ file: 'payments.csv', line: 3, column: 'payment_date' });
    const dup = await uploadImport(app, { ...x, credits: x.credits + x.credits.split('\n')[1] + '\n' });
    expect(dup.body).toMatchObject({ status: 400, file: 'credits.csv', line: 10, column: 'id' });
    const mapping = await uploadImport(app, { ...x, mapping: 'delimiter: ":"\n' });
    expect(mapping.body).toMatchObject({ status: 400, code: 'MAPPING_INVALID', line: 1 });
    expect((await uploadImport(app, { ...x, key: app.keys.operator })).status).toBe(403);
    expect(await count()).toEqual(before);
  });
});
