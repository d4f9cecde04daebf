import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { openBrowser, requireChromium, signIn, type Browser } from '../support/browser';
import { call, startTestApp, TestApp } from '../support/harness';
import { legacyExport, uploadImport, waitForImport } from '../support/imports';

describe("the dashboard's Imports page in headless Chromium", () => {
  let app: TestApp;
  let browser: Browser | undefined;

  beforeAll(async () => {
    requireChromium();
    app = await startTestApp();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('lists an import, shows its reconciliation by code as the API does, pages a code and opens a credit from it', async () => {
    // Eight credits with the old system's mistakes planted on known ones (credit 2 counted a payment twice).
    const legacy = legacyExport(`LG-E2E-${randomUUID().slice(0, 8)}-`);
    const posted = await uploadImport(app, legacy);
    expect(posted.status).toBe(202);
    const importId: string = posted.body.id;
    const imp = await waitForImport(app, importId);
    expect(imp.status).toBe('COMPLETED');

    browser = await openBrowser();
    const { page, problems } = browser;
    await signIn(page, app.url, app.keys.viewer, '#/imports');
    await page.waitForSelector(`#imports-table tr[data-import-id="${importId}"][data-status="COMPLETED"]`, { timeout: 30_000 });
    await page.click(`#imports-table tr[data-import-id="${importId}"] a`);
    await page.waitForURL(new RegExp(`#/imports/${importId}$`), { timeout: 30_000 });
    await page.waitForSelector('[data-figure="import-status"][data-value="COMPLETED"]', { timeout: 30_000 });
    await page.waitForSelector('#codes-table', { timeout: 30_000 });

    // The summary and the table by code are the API's, every code present (zero where absent).
    const figure = async (name: string) => page.getAttribute(`[data-figure="${name}"]`, 'data-value');
    expect(await figure('import-loaded')).toBe(String(imp.credits.loaded));
    expect(await figure('import-unchanged')).toBe(String(imp.credits.unchanged));
    expect(await figure('import-refused')).toBe(String(imp.credits.refused));
    expect(imp.credits.refused).toBe(1);
    const codes = await page.$$eval('#codes-table tbody tr', (trs) =>
      trs.map((tr) => [tr.getAttribute('data-code'), { count: Number(tr.querySelector('[data-col="count"]')!.textContent!.replace(/,/g, '')), credits: Number(tr.querySelector('[data-col="credits"]')!.textContent!.replace(/,/g, '')), amountAtStake: tr.querySelector('[data-col="amount"]')!.getAttribute('data-value') }]),
    );
    expect(Object.fromEntries(codes)).toEqual(imp.differences);
    expect(imp.differences.BALANCE_DIFFERS.count).toBeGreaterThan(0);
    expect(imp.differences.TERMS_REFUSED.count).toBe(1);

    // A click on a code pages its differences, each linking to its credit.
    await page.click('#codes-table tr[data-code="BALANCE_DIFFERS"] a');
    await page.waitForSelector('#differences-code[data-value="BALANCE_DIFFERS"]', { timeout: 30_000 });
    const api = (await call(app, 'GET', `/v1/imports/${importId}/differences?code=BALANCE_DIFFERS&limit=1000`, { key: app.keys.viewer })).body.differences;
    const shown = await page.$$eval('#differences-table tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-legacy-credit-id'), tr.getAttribute('data-code'), tr.querySelector('[data-col="amount"]')!.getAttribute('data-value')]));
    expect(shown).toEqual(api.map((d: any) => [d.legacyCreditId, 'BALANCE_DIFFERS', d.amountAtStake ?? '0']));
    expect(shown.map((r) => r[0])).toContain(legacy.id(2));
    await browser.screenshot('imports.png');

    // The CSV download is the API's, byte for byte.
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.click('#download-differences')]);
    expect(download.suggestedFilename()).toBe(`import-${importId}-balance_differs.csv`);
    const csv = await fetch(`${app.url}/v1/imports/${importId}/differences?code=BALANCE_DIFFERS&format=csv`, { headers: { authorization: `Bearer ${app.keys.viewer}` } });
    expect(readFileSync((await download.path())!, 'utf8')).toBe(await csv.text());

    // Through to the credit's page: the credit abono loaded under the legacy id.
    const two = api.find((d: any) => d.legacyCreditId === legacy.id(2));
    expect(await page.getAttribute(`#differences-table tr[data-legacy-credit-id="${legacy.id(2)}"] a`, 'href')).toBe(`#/credits/${two.creditId}`);
    await page.click(`#differences-table tr[data-legacy-credit-id="${legacy.id(2)}"] a`);
    await page.waitForSelector('body[data-page="credits"][data-loaded="true"] #schedule-table', { timeout: 30_000 });
    expect(await page.textContent('[data-figure="credit-id"]')).toBe(two.creditId);
    expect(await page.textContent('[data-figure="credit-external-id"]')).toBe(legacy.id(2));
    expect(problems).toEqual([]); // no script error, no CSP violation
  }, 300_000);
});
