import { existsSync } from 'node:fs';
import { todayIn } from '../../src/domain';
import { openBrowser, requireChromium, signIn, type Browser } from '../support/browser';
import { call, createCredit, pay, startTestApp, TestApp } from '../support/harness';

const addDays = (date: string, n: number) => new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const plain = (text: string | null) => (text ?? '').replace(/,/g, '').trim();

describe('/dashboard in headless Chromium', () => {
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

  it('shows the same figures as the API, and saves a screenshot', async () => {
    const today = todayIn('UTC');
    // A credit long overdue, one partly paid and behind, one current, one paid off.
    const late = await createCredit(app, { clientId: 'c-late', principal: '2000.00', installments: 6, startDate: addDays(today, -200) });
    const behind = await createCredit(app, { clientId: 'c-behind', principal: '5000.00', interestRate: '0.02', installments: 12, startDate: addDays(today, -95), scheduleType: 'DECLINING' });
    const current = await createCredit(app, { clientId: 'c-current', principal: '1500.00', installments: 10, startDate: addDays(today, -20) });
    const paidOff = await createCredit(app, { clientId: 'c-paid', principal: '300.00', installments: 2, startDate: addDays(today, -40) });
    const payments: Array<[string, string, number]> = [
      [late.id, '250.00', -28],
      [behind.id, '612.40', -25],
      [behind.id, '300.00', -12],
      [current.id, '157.50', -19],
      [current.id, '157.50', -3],
      [paidOff.id, paidOff.totalAmount, -6],
      [late.id, '99.99', 0],
    ];
    for (const [creditId, amount, day] of payments) {
      const res = await pay(app, creditId, amount, { paymentDate: addDays(today, day) });
      expect(res.status).toBe(201);
    }
    expect((await pay(app, paidOff.id, '1.00', { paymentDate: today })).status).toBe(422); // refused: paid off

    // A dry-run recalculation, so that its result is on the page.
    const recalc = await call(app, 'POST', '/v1/recalculations', { key: app.keys.admin, body: { dryRun: true } });
    expect(recalc.status).toBe(202);
    let run: any;
    for (let i = 0; i < 100; i++) {
      run = (await call(app, 'GET', `/v1/recalculations/${recalc.body.id}`, { key: app.keys.viewer })).body;
      if (run.status === 'COMPLETED' && run.finishedAt) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(run).toMatchObject({ status: 'COMPLETED', scanned: 4, inconsistent: 0 });

    const [portfolio, collections, summary] = await Promise.all([
      call(app, 'GET', `/v1/reports/portfolio?asOf=${today}&limit=1`, { key: app.keys.viewer }),
      call(app, 'GET', `/v1/reports/payments?from=${addDays(today, -29)}&to=${today}&limit=1`, { key: app.keys.viewer }),
      call(app, 'GET', '/v1/dashboard/summary', { key: app.keys.viewer }),
    ]);
    expect([portfolio.status, collections.status, summary.status]).toEqual([200, 200, 200]);
    // The summary agrees with the reports (same SQL function), so the page can be checked against either.
    expect(summary.body.portfolio).toMatchObject({ balance: portfolio.body.totals.balance, overdueAmount: portfolio.body.totals.overdueAmount, credits: 4 });
    expect(summary.body.collections.total).toEqual({ count: collections.body.totals.count, amount: collections.body.totals.amount });

    browser = await openBrowser();
    const { page, problems } = browser;
    await signIn(page, app.url, app.keys.viewer);
    // The key lives in this tab's sessionStorage, nowhere else.
    expect(await page.evaluate("sessionStorage.getItem('abono.apiKey')")).toBe(app.keys.viewer);
    expect(await page.evaluate('localStorage.length')).toBe(0);

    const figure = async (name: string) => ({ value: await page.getAttribute(`[data-figure="${name}"]`, 'data-value'), text: plain(await page.textContent(`[data-figure="${name}"]`)) });
    const balance = await figure('balance');
    expect(balance).toEqual({ value: portfolio.body.totals.balance, text: portfolio.body.totals.balance });
    const overdue = await figure('overdue');
    expect(overdue).toEqual({ value: portfolio.body.totals.overdueAmount, text: portfolio.body.totals.overdueAmount });
    expect(Number(portfolio.body.totals.overdueAmount)).toBeGreaterThan(0);
    const collected = await figure('collected');
    expect(collected).toEqual({ value: collections.body.totals.amount, text: collections.body.totals.amount });
    expect((await figure('collected-count')).value).toBe(String(collections.body.totals.count));
    expect((await figure('credits')).value).toBe(String(portfolio.body.totals.credits));

    // Arrears buckets: the table and the chart's labels equal the portfolio report's buckets.
    for (const [bucket, t] of Object.entries(portfolio.body.totals.buckets) as Array<[string, { count: number; balance: string; amount: string }]>) {
      const row = `#buckets-table tr[data-bucket="${bucket}"]`;
      expect(plain(await page.textContent(`${row} td[data-col="credits"]`))).toBe(String(t.count));
      expect(await page.getAttribute(`${row} td[data-col="balance"]`, 'data-value')).toBe(t.balance);
      expect(await page.getAttribute(`${row} td[data-col="overdue"]`, 'data-value')).toBe(t.amount);
      expect(plain(await page.textContent(`#buckets-chart text[data-bucket-count="${bucket}"]`))).toMatch(new RegExp(`^${t.count} credits?$`));
    }
    // Collections per day: one bar per day of the last 30, each with the report's amount for that day.
    const bars = await page.$$eval('#collections-chart rect[data-date]', (rs) => rs.map((r) => [r.getAttribute('data-date'), r.getAttribute('data-amount')]));
    expect(bars).toHaveLength(30);
    const byDay = Object.fromEntries((collections.body.days as Array<{ date: string; amount: string }>).map((d) => [d.date, d.amount]));
    for (const [date, amount] of bars) expect(amount).toBe(byDay[date!] ?? '0.00');

    // Outcomes: 7 applied, 1 rejected, nothing failed.
    expect(plain(await page.textContent('#outcomes-table tr[data-outcome="APPLIED"] td[data-col="count"]'))).toBe(String(summary.body.outcomes.byStatus.APPLIED));
    expect(plain(await page.textContent('#outcomes-table tr[data-outcome="REJECTED"] td[data-col="count"]'))).toBe('1');
    expect((await figure('failure-rate')).value).toBe('0');
    // The last recalculation's result.
    expect(plain(await page.textContent('[data-figure="recalc-status"]'))).toBe('COMPLETED');
    expect(plain(await page.textContent('[data-figure="recalc-scanned"]'))).toBe(String(run.scanned));
    expect(plain(await page.textContent('[data-figure="recalc-inconsistent"]'))).toBe('0');
    // The book's verification: the dry run proved every credit, none is left unproven.
    const v = summary.body.verification;
    expect(v.neverVerified).toBe(0);
    expect(plain(await page.textContent('[data-figure="verified-share"]'))).toBe(`${v.credits} of ${v.credits}`);
    expect(plain(await page.textContent('[data-figure="verification-never-verified"]'))).toBe('0');
    expect(await page.isVisible('#stuck')).toBe(true);
    expect(problems).toEqual([]); // no script error, no CSP violation

    expect(existsSync(await browser.screenshot('dashboard.png'))).toBe(true);
  });
});
