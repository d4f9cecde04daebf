import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { openBrowser, requireChromium, signIn, type Browser } from '../support/browser';
import { call, createCredit, startTestApp, TestApp } from '../support/harness';
import { csvFile } from '../support/payment-files';

const plain = (text: string | null) => (text ?? '').replace(/,/g, '').trim();

// FLAT 1000.00 at 5% over 4 from 2026-01-01: total 1200.00, four instalments of 300.00.
describe('the dashboard\'s payment files and credit pages in headless Chromium', () => {
  let app: TestApp;
  let browser: Browser | undefined;

  beforeAll(async () => {
    requireChromium();
    // Small chunks, one at a time: the file runs as several chunks the page follows.
    app = await startTestApp({ PAYMENT_FILE_CHUNK_LINES: '10', PAYMENT_FILE_PARALLELISM: '1' });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('uploads a file and follows it to the end, downloads the refused lines, and opens a credit by its loan number', async () => {
    const loan = `LN-E2E-${randomUUID().slice(0, 8)}`;
    const named = await createCredit(app, { externalId: loan });
    const others = await Promise.all(Array.from({ length: 6 }, () => createCredit(app)));
    const rows: Array<Record<string, string>> = [
      { creditExternalId: loan, amount: '350.00', paymentDate: '2026-02-01', reference: 'DD-1' }, // instalment 1 and 50.00 of 2
      { creditExternalId: loan, amount: '2000.00', paymentDate: '2026-02-02', reference: 'DD-2' }, // over the balance: refused
      { creditExternalId: 'LN-NOBODY', amount: '10.00', paymentDate: '2026-02-02', reference: 'DD-3' }, // no such credit: refused
      ...others.flatMap((c, i) => Array.from({ length: 8 }, (_, j) => ({ creditId: c.id, amount: `${10 + i}.${String(j * 11).padStart(2, '0')}`, paymentDate: '2026-02-03', reference: `DD-${i}-${j}` }))),
      { creditExternalId: loan, amount: '100.00', paymentDate: '2026-02-04', reference: 'DD-4' },
    ];
    const file = csvFile(rows, ['creditId', 'creditExternalId', 'amount', 'paymentDate', 'reference']);

    browser = await openBrowser();
    const { page, problems } = browser;
    await signIn(page, app.url, app.keys.operator, '#/files');
    expect(await page.textContent('#batches')).toContain('No payment file yet');

    // Upload: the page generates the file's Idempotency-Key when the file is chosen.
    await page.setInputFiles('#file-input', { name: 'collections-2026-02.csv', mimeType: 'text/csv', buffer: Buffer.from(file) });
    expect(await page.textContent('#file-key')).toMatch(/^Idempotency-Key: [0-9a-f-]{36}$/);
    await page.click('#upload');
    await page.waitForURL(/#\/files\/[0-9a-f-]{36}$/, { timeout: 30_000 });
    const batchId = page.url().split('/').pop()!;
    await page.waitForSelector('[data-figure="batch-status"][data-value="COMPLETED"]', { timeout: 120_000 });
    await page.waitForSelector('#refused-table', { timeout: 30_000 });

    // The page's figures are the API's.
    const batch = (await call(app, 'GET', `/v1/payment-batches/${batchId}`, { key: app.keys.viewer })).body;
    expect(batch).toMatchObject({ status: 'COMPLETED', lineCount: rows.length, counts: { APPLIED: rows.length - 2, REJECTED: 2, PENDING: 0 } });
    const figure = async (name: string) => page.getAttribute(`[data-figure="${name}"]`, 'data-value');
    expect(await figure('batch-lines')).toBe(String(rows.length));
    expect(await figure('batch-done')).toBe(String(rows.length));
    expect(await figure('batch-applied')).toBe(String(batch.counts.APPLIED));
    expect(await figure('batch-rejected')).toBe('2');
    expect(await figure('batch-amount')).toBe(batch.amounts.APPLIED);
    expect(plain(await page.textContent('[data-figure="batch-amount"]'))).toBe(batch.amounts.APPLIED);
    expect(Number(await figure('batch-rate'))).toBeGreaterThan(0);
    await browser.screenshot('payment-file.png');

    // The refused lines, with the single payment's codes; downloaded, they are the API's CSV byte for byte.
    const refused = await page.$$eval('#refused-table tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-line'), tr.querySelector('[data-col="code"]')!.textContent]));
    expect(refused).toEqual([['3', 'AMOUNT_EXCEEDS_BALANCE'], ['4', 'CREDIT_NOT_FOUND']]);
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.click('#download-refused')]);
    expect(download.suggestedFilename()).toBe(`payment-batch-${batchId}-refused.csv`);
    const downloaded = readFileSync((await download.path())!, 'utf8');
    const api = await fetch(`${app.url}/v1/payment-batches/${batchId}/lines?status=REJECTED&format=csv`, { headers: { authorization: `Bearer ${app.keys.viewer}` } });
    expect(downloaded).toBe(await api.text());
    expect(downloaded.trim().split(/\r?\n/)).toHaveLength(3);
    expect(downloaded).toContain('AMOUNT_EXCEEDS_BALANCE');

    // The list of recent batches shows it.
    await page.click('a[data-route="files"]');
    await page.waitForSelector(`#batches-table tr[data-batch-id="${batchId}"][data-status="COMPLETED"]`, { timeout: 30_000 });
    await browser.screenshot('payment-files.png');

    // The credit, by its loan number from the search box: schedule, payments with their split, audit trail.
    await page.fill('#credit-query', loan);
    await page.press('#credit-query', 'Enter');
    await page.waitForSelector('body[data-page="credits"][data-loaded="true"] #schedule-table', { timeout: 30_000 });
    expect(await page.textContent('[data-figure="credit-id"]')).toBe(named.id);
    expect(await page.textContent('[data-figure="credit-external-id"]')).toBe(loan);
    const schedule = (await call(app, 'GET', `/v1/credits/${named.id}/schedule`, { key: app.keys.viewer })).body;
    const shown = await page.$$eval('#schedule-table tbody tr', (trs) =>
      trs.map((tr) => ({ number: Number(tr.getAttribute('data-installment')), paid: tr.querySelector('[data-col="paid"]')!.getAttribute('data-value'), remaining: tr.querySelector('[data-col="remaining"]')!.getAttribute('data-value') })),
    );
    expect(shown).toEqual(schedule.installments.map((i: { number: number; paid: string; remaining: string }) => ({ number: i.number, paid: i.paid, remaining: i.remaining })));
    expect(shown.slice(0, 2)).toEqual([{ number: 1, paid: '300.00', remaining: '0.00' }, { number: 2, paid: '150.00', remaining: '150.00' }]);
    // Payments, latest recorded first, each with its split over the instalments.
    const payments = (await call(app, 'GET', `/v1/credits/${named.id}/payments`, { key: app.keys.viewer })).body.payments;
    const split = await page.$$eval('#payments-table tbody tr', (trs) =>
      trs.map((tr) => ({ id: tr.getAttribute('data-payment-id'), status: tr.getAttribute('data-status'), allocations: Array.from(tr.querySelectorAll('li')).map((li: any) => [Number(li.getAttribute('data-installment')), li.getAttribute('data-amount')]) })),
    );
    expect(split).toEqual(payments.slice().reverse().map((p: any) => ({ id: p.id, status: p.status, allocations: p.allocations.map((a: any) => [a.installmentNumber, a.amount]) })));
    // (A file's payments share their recording time, so their order among themselves is the API's, whatever it is.)
    const appliedSplits = split.filter((p) => p.status === 'APPLIED').map((p) => JSON.stringify(p.allocations));
    expect(appliedSplits.sort()).toEqual([JSON.stringify([[1, '300.00'], [2, '50.00']]), JSON.stringify([[2, '100.00']])]);
    // The audit trail: the file's payments and the credit's creation, newest first.
    const actions = await page.$$eval('#audit-table tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-action')));
    expect(actions.filter((a) => a === 'payment.applied')).toHaveLength(2);
    expect(actions[actions.length - 1]).toBe('credit.created');
    await browser.screenshot('credit.png');

    // A loan number nobody has says so.
    await page.fill('#credit-query', 'LN-NOBODY');
    await page.press('#credit-query', 'Enter');
    await page.waitForSelector('#credit-none', { timeout: 30_000 });
    expect(problems).toEqual([]); // no script error, no CSP violation
  }, 300_000);
});
