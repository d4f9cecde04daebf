import { Client as PgClient } from 'pg';
import { seedPortfolio } from '../../tools/seed';
import { CreditRow, InstallmentRow, scheduleOf, stateOf, termsOf } from '../../src/db/rows';
import { addDays, Decimal, diffState, figuresAsOf, formatMoney, recompute } from '../../src/domain';
import { call, createCredit, startTestApp, TestApp } from '../support/harness';

// The reports compute the as-of figures in SQL (credit_figures, migration 1732000000002) from persisted columns;
// these tests hold them to the domain module (src/domain/as-of.ts) over generated credits.

const BASE = '2026-06-01';

/** Counts every statement sent through the pg driver (the app runs in this process). */
const counter = { on: false, n: 0 };
const originalQuery = PgClient.prototype.query;
beforeAll(() => {
  PgClient.prototype.query = function (this: PgClient, ...args: unknown[]) {
    // Authentication (cached by another module) and the once-per-process cursor key are not the report's queries.
    const first = args[0] as { text?: string } | string | undefined;
    const text = typeof first === 'string' ? first : first?.text ?? '<stream>';
    if (counter.on && !/api_keys|report_secrets/.test(text)) counter.n++;
    return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof PgClient.prototype.query;
});
afterAll(() => {
  PgClient.prototype.query = originalQuery;
});

async function countQueries(run: () => Promise<unknown>): Promise<number> {
  counter.n = 0;
  counter.on = true;
  try {
    await run();
  } finally {
    counter.on = false;
  }
  return counter.n;
}

async function getText(app: TestApp, path: string): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(app.url + path, { headers: { authorization: `Bearer ${app.keys.viewer}` } });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

/** RFC 4180 parser (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += ch;
  }
  if (field || row.length) throw new Error('CSV does not end with CRLF');
  return rows;
}

async function allPortfolioRows(app: TestApp, query: string, limit = 1000): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const res = await call(app, 'GET', `/v1/reports/portfolio?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { key: app.keys.viewer });
    expect(res.status).toBe(200);
    out.push(...res.body.rows);
    cursor = res.body.nextCursor;
    if (!cursor) return out;
  }
  throw new Error('too many pages');
}

interface Loaded {
  row: CreditRow;
  installments: InstallmentRow[];
}

async function loadCredits(app: TestApp): Promise<Loaded[]> {
  const credits: CreditRow[] = await app.abono.ds.query(`SELECT * FROM credits ORDER BY id`);
  const inst: InstallmentRow[] = await app.abono.ds.query(`SELECT * FROM credit_installments ORDER BY credit_id, number`);
  const byCredit = new Map<string, InstallmentRow[]>();
  for (const i of inst) byCredit.set(i.credit_id, [...(byCredit.get(i.credit_id) ?? []), i]);
  return credits.map((row) => ({ row, installments: byCredit.get(row.id) ?? [] }));
}

function domainFigures(c: Loaded, asOf: string) {
  const f = figuresAsOf(termsOf(c.row), scheduleOf(c.row, c.installments), stateOf(c.row), asOf);
  return {
    expectedInstallments: f.expectedInstallments,
    pendingInstallments: f.pendingInstallments,
    overdueInstallments: f.overdueInstallments,
    overdueAmount: formatMoney(f.overdueAmount),
    nextDueDate: f.nextDueDate,
    nextDueAmount: f.nextDueAmount ? formatMoney(f.nextDueAmount) : null,
    arrearsBucket: f.arrearsBucket,
  };
}

/** Dates that matter for one credit: before the start, on and around due dates, between them, after the last. */
function interestingDates(c: Loaded): string[] {
  const { start_date: start, period_days: pd, installments: n } = c.row;
  const last = addDays(start, (n - 1) * pd);
  const out = new Set<string>([addDays(start, -1), addDays(start, -400), start, addDays(start, 1), last, addDays(last, -1), addDays(last, 1), addDays(last, pd * 5 + 3), BASE]);
  for (const k of [2, 3, Math.ceil(n / 2), c.row.paid_installments + 1, c.row.paid_installments + 2, n - 1]) {
    if (k < 1 || k > n) continue;
    const due = addDays(start, (k - 1) * pd);
    out.add(due);
    out.add(addDays(due, -1));
    out.add(addDays(due, 1));
    out.add(addDays(due, Math.floor(pd / 2)));
  }
  return [...out];
}

describe('reports: portfolio and collections, figures computed in SQL', () => {
  let app: TestApp;
  let small: TestApp;
  let credits: Loaded[];
  let quoted: any;

  beforeAll(async () => {
    // A viewer paging a report as fast as it answers (one row a page, hundreds of pages): the per-role limits have their own tests.
    const unlimited = { RUN_WORKER: 'false', RATE_LIMIT_VIEWER_PER_SECOND: '0' };
    [app, small] = await Promise.all([startTestApp(unlimited), startTestApp(unlimited)]);
    // ~1,000 credits of both schedule types, 1 to 24 instalments, 0 to 8 payments (arrears, on time, paid off).
    await seedPortfolio(app.abono.ds, { credits: 900, paymentsPerCredit: 8, seed: 11, templates: 900, baseDate: BASE, installments: [1, 2, 3, 6, 12, 24] });
    await seedPortfolio(app.abono.ds, { credits: 80, paymentsPerCredit: 1, seed: 12, baseDate: BASE, installments: [4, 36] });
    await seedPortfolio(app.abono.ds, { credits: 19, paymentsPerCredit: 0, seed: 13, baseDate: BASE });
    quoted = await createCredit(app, { clientId: 'Smith, "Jr" & Co', startDate: '2026-01-01', scheduleType: 'DECLINING' });
    await seedPortfolio(small.abono.ds, { credits: 10, paymentsPerCredit: 8, seed: 21, baseDate: BASE });
    credits = await loadCredits(app);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([app?.stop(), small?.stop()]);
  });

  it('seeds a portfolio whose persisted state equals the domain recomputation from its ledger', async () => {
    expect(credits.length).toBe(1000);
    const payments: Array<{ credit_id: string; id: string; amount: string; payment_date: string }> = await app.abono.ds.query(
      `SELECT credit_id, id, amount, payment_date FROM payments WHERE status = 'APPLIED' ORDER BY credit_id, ledger_seq`,
    );
    const byCredit = new Map<string, typeof payments>();
    for (const p of payments) byCredit.set(p.credit_id, [...(byCredit.get(p.credit_id) ?? []), p]);
    const types = new Set<string>();
    for (const c of credits) {
      types.add(c.row.schedule_type);
      const ledger = (byCredit.get(c.row.id) ?? []).map((p) => ({ id: p.id, amount: new Decimal(p.amount), paymentDate: p.payment_date }));
      const { state } = recompute(scheduleOf(c.row, c.installments), ledger);
      expect(diffState(stateOf(c.row), state)).toEqual([]);
    }
    expect([...types].sort()).toEqual(['DECLINING', 'FLAT']);
    const buckets = new Set(credits.map((c) => domainFigures(c, BASE).arrearsBucket));
    expect([...buckets].sort()).toEqual(['1', '2', '3', '4+', 'current']);
  });

  it('relies on a fact of both schedules: every instalment but the last equals installment_amount', () => {
    for (const c of credits) {
      for (const i of c.installments.slice(0, -1)) expect(i.amount).toBe(c.row.installment_amount);
      expect(c.installments[c.installments.length - 1].cumulative_due).toBe(c.row.total_amount);
    }
  });

  it('credit_figures (SQL) equals the domain on every credit, before the start, on/around due dates, between them and after the last', async () => {
    const ids: string[] = [];
    const dates: string[] = [];
    for (const c of credits) {
      for (const d of interestingDates(c)) {
        ids.push(c.row.id);
        dates.push(d);
      }
    }
    const rows: any[] = await app.abono.ds.query(
      `SELECT x.id, x.d AS as_of, f.*
         FROM unnest($1::uuid[], $2::date[]) WITH ORDINALITY x(id, d, ord)
         JOIN credits c ON c.id = x.id
         CROSS JOIN LATERAL credit_figures(c.start_date, c.installments, c.period_days, c.installment_amount, c.total_amount,
                                           c.total_paid, c.paid_installments, x.d) f
        ORDER BY x.ord`,
      [ids, dates],
    );
    expect(rows.length).toBe(ids.length);
    expect(rows.length).toBeGreaterThan(10_000);
    const byId = new Map(credits.map((c) => [c.row.id, c]));
    for (const r of rows) {
      const sql = {
        expectedInstallments: r.expected_installments,
        pendingInstallments: r.pending_installments,
        overdueInstallments: r.overdue_installments,
        overdueAmount: r.overdue_amount,
        nextDueDate: r.next_due_date,
        nextDueAmount: r.next_due_amount,
        arrearsBucket: r.arrears_bucket,
      };
      expect({ id: r.id, asOf: r.as_of, ...sql }).toEqual({ id: r.id, asOf: r.as_of, ...domainFigures(byId.get(r.id)!, r.as_of) });
    }
  });

  it('portfolio rows over HTTP carry the domain figures at several as-of dates, and totals are the sums of rows', async () => {
    for (const asOf of ['2020-01-01', '2025-11-15', BASE, '2031-03-03']) {
      const rows = await allPortfolioRows(app, `asOf=${asOf}`);
      expect(rows.length).toBe(credits.length);
      const byId = new Map(credits.map((c) => [c.row.id, c]));
      for (const row of rows) {
        const c = byId.get(row.id);
        if (!c) continue; // the credit created over HTTP is checked below
        expect({ id: row.id, ...pickFigures(row) }).toEqual({ id: row.id, ...domainFigures(c, asOf) });
        expect(row).toMatchObject({ principal: c.row.principal, totalPaid: c.row.total_paid, balance: c.row.balance, status: c.row.status });
      }
      const page = (await call(app, 'GET', `/v1/reports/portfolio?asOf=${asOf}&limit=1`, { key: app.keys.viewer })).body;
      const sum = (f: string, xs = rows) => formatMoney(xs.reduce((a: Decimal, r: any) => a.plus(r[f]), new Decimal(0)));
      expect(page.totals).toMatchObject({
        credits: rows.length,
        principal: sum('principal'),
        totalAmount: sum('totalAmount'),
        totalPaid: sum('totalPaid'),
        balance: sum('balance'),
        overdueAmount: sum('overdueAmount'),
      });
      for (const b of ['current', '1', '2', '3', '4+']) {
        const inB = rows.filter((r) => r.arrearsBucket === b);
        expect(page.totals.buckets[b]).toEqual({ count: inB.length, amount: sum('overdueAmount', inB), balance: sum('balance', inB) });
      }
    }
  });

  it('keyset pagination returns every credit exactly once, with and without filters', async () => {
    const all = await allPortfolioRows(app, `asOf=${BASE}`, 37);
    const ids = all.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(credits.map((c) => c.row.id).sort());
    expect(ids).toContain(quoted.id);
    for (const filter of ['status=ACTIVE', 'status=PAID_OFF', 'bucket=current', 'bucket=4%2B', 'bucket=2']) {
      const rows = await allPortfolioRows(app, `asOf=${BASE}&${filter}`, 50);
      const totals = (await call(app, 'GET', `/v1/reports/portfolio?asOf=${BASE}&${filter}&limit=1`, { key: app.keys.viewer })).body.totals;
      expect(rows.length).toBe(totals.credits);
      expect(rows.length).toBeGreaterThan(0);
      expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    }
    const client = credits[0].row.client_id;
    const mine = await allPortfolioRows(app, `asOf=${BASE}&clientId=${encodeURIComponent(client)}`, 1);
    expect(mine.map((r) => r.id).sort()).toEqual(credits.filter((c) => c.row.client_id === client).map((c) => c.row.id).sort());
  });

  it('CSV: header, RFC 4180 quoting, the same decimal strings as JSON, every row (no pagination)', async () => {
    const json = await allPortfolioRows(app, `asOf=${BASE}`);
    const csv = await getText(app, `/v1/reports/portfolio?asOf=${BASE}&format=csv&limit=5`);
    expect(csv.status).toBe(200);
    expect(csv.type).toMatch(/^text\/csv/);
    expect(csv.text).toContain('"Smith, ""Jr"" & Co"');
    const [header, ...rows] = parseCsv(csv.text);
    expect(header).toEqual(Object.keys(json[0]));
    expect(rows.length).toBe(json.length);
    rows.forEach((r, i) => expect(r).toEqual(header.map((h) => (json[i][h] === null ? '' : String(json[i][h])))));
    // totals equal the sum of the streamed rows
    const totals = (await call(app, 'GET', `/v1/reports/portfolio?asOf=${BASE}&limit=1`, { key: app.keys.viewer })).body.totals;
    const col = (name: string) => header.indexOf(name);
    const sum = (name: string) => formatMoney(rows.reduce((a, r) => a.plus(r[col(name)]), new Decimal(0)));
    expect(totals).toMatchObject({ credits: rows.length, balance: sum('balance'), totalPaid: sum('totalPaid'), overdueAmount: sum('overdueAmount'), principal: sum('principal') });
    // a filtered CSV
    const active = parseCsv((await getText(app, `/v1/reports/portfolio?asOf=${BASE}&status=ACTIVE&format=csv`)).text).slice(1);
    expect(active.length).toBe(json.filter((r) => r.status === 'ACTIVE').length);
  });

  it('collections report: payments in a range with splits, totals per day equal to the rows, CSV equal to JSON', async () => {
    const from = '2025-06-01';
    const to = '2026-05-31';
    const rows: any[] = [];
    let cursor: string | null = null;
    let first: any;
    do {
      const res = await call(app, 'GET', `/v1/reports/payments?from=${from}&to=${to}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { key: app.keys.viewer });
      expect(res.status).toBe(200);
      first ??= res.body;
      rows.push(...res.body.rows);
      cursor = res.body.nextCursor;
    } while (cursor);
    const db = await app.abono.ds.query(`SELECT count(*)::int AS n, sum(amount)::text AS amount FROM payments WHERE status = 'APPLIED' AND payment_date BETWEEN $1 AND $2`, [from, to]);
    expect(rows.length).toBe(db[0].n);
    expect(rows.length).toBeGreaterThan(500);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    expect(first.totals.count).toBe(rows.length);
    expect(first.totals.amount).toBe(formatMoney(new Decimal(db[0].amount)));
    for (const r of rows) expect(formatMoney(new Decimal(r.principal).plus(r.interest))).toBe(r.amount);
    const byDay = new Map<string, any[]>();
    for (const r of rows) byDay.set(r.paymentDate, [...(byDay.get(r.paymentDate) ?? []), r]);
    expect(first.days.map((d: any) => d.date)).toEqual([...byDay.keys()].sort());
    const sum = (xs: any[], f: string) => formatMoney(xs.reduce((a: Decimal, r: any) => a.plus(r[f]), new Decimal(0)));
    for (const d of first.days) {
      const xs = byDay.get(d.date)!;
      expect(d).toEqual({ date: d.date, count: xs.length, amount: sum(xs, 'amount'), principal: sum(xs, 'principal'), interest: sum(xs, 'interest') });
    }
    expect(first.totals).toEqual({ count: rows.length, amount: sum(rows, 'amount'), principal: sum(rows, 'principal'), interest: sum(rows, 'interest') });

    const csv = await getText(app, `/v1/reports/payments?from=${from}&to=${to}&format=csv`);
    const [header, ...csvRows] = parseCsv(csv.text);
    expect(header).toEqual(Object.keys(rows[0]));
    expect(csvRows).toEqual(rows.map((r) => header.map((h) => (r[h] === null ? '' : String(r[h])))));

    const empty = await call(app, 'GET', `/v1/reports/payments?from=1990-01-01&to=1990-01-31&status=REVERSED`, { key: app.keys.viewer });
    expect(empty.body).toMatchObject({ totals: { count: 0, amount: '0.00', principal: '0.00', interest: '0.00' }, days: [], rows: [], nextCursor: null });
  });

  it('a report costs the same number of queries over 10 and over 1,000 credits', async () => {
    const paths = [
      `/v1/reports/portfolio?asOf=${BASE}&limit=1000`,
      `/v1/reports/portfolio?asOf=${BASE}&format=csv`,
      `/v1/reports/portfolio?asOf=${BASE}&bucket=current&limit=1000`,
      `/v1/reports/payments?from=2000-01-01&to=2000-12-31&limit=1000`,
      `/v1/reports/payments?from=2025-06-01&to=2026-05-31&limit=1000`,
      `/v1/reports/payments?from=2025-06-01&to=2026-05-31&format=csv`,
    ];
    for (const path of paths) {
      const big = await countQueries(() => getText(app, path));
      const little = await countQueries(() => getText(small, path));
      expect({ path, queries: big }).toEqual({ path, queries: little });
      expect(big).toBe(path.includes('format=csv') ? 1 : 2); // JSON: rows + totals; CSV: one streamed query
    }
    const [smallCredit] = await small.abono.ds.query(`SELECT id FROM credits ORDER BY payment_count DESC LIMIT 1`);
    const [bigCredit] = await app.abono.ds.query(`SELECT id FROM credits ORDER BY payment_count DESC LIMIT 1`);
    const a = await countQueries(() => getText(app, `/v1/credits/${bigCredit.id}/payments`));
    const b = await countQueries(() => getText(small, `/v1/credits/${smallCredit.id}/payments`));
    expect(a).toBe(b);
    expect(a).toBe(2); // payments, allocations
  });

  it('lists a credit\'s payments in ledger order with their stored allocations, in a constant number of queries', async () => {
    const [c] = await app.abono.ds.query(`SELECT id FROM credits ORDER BY payment_count DESC, id LIMIT 1`);
    const res = await call(app, 'GET', `/v1/credits/${c.id}/payments`, { key: app.keys.viewer });
    expect(res.status).toBe(200);
    const stored = await app.abono.ds.query(`SELECT * FROM payment_allocations WHERE credit_id = $1 ORDER BY payment_id, installment_number`, [c.id]);
    expect(res.body.payments.map((p: any) => p.ledgerSeq)).toEqual(res.body.payments.map((_: any, i: number) => i + 1));
    const flat = res.body.payments.flatMap((p: any) => p.allocations.map((a: any) => ({ p: p.id, ...a })));
    expect(flat.sort((x: any, y: any) => (x.p < y.p ? -1 : x.p > y.p ? 1 : x.installmentNumber - y.installmentNumber))).toEqual(
      stored.map((a: any) => ({ p: a.payment_id, installmentNumber: a.installment_number, amount: a.amount, principal: a.principal, interest: a.interest, remainingForInstallment: a.remaining_for_installment })),
    );
    for (const p of res.body.payments) expect(typeof p.allocations[0].amount).toBe('string');
    const none = await call(app, 'GET', `/v1/credits/${quoted.id}/payments`, { key: app.keys.viewer });
    expect(none.body).toEqual({ creditId: quoted.id, payments: [] });
    const missing = await call(app, 'GET', `/v1/credits/00000000-0000-4000-8000-000000000000/payments`, { key: app.keys.viewer });
    expect(missing.status).toBe(404);
  });

  it('refuses bad parameters with 400 naming the field', async () => {
    const expect400 = async (path: string, field: string) => {
      const res = await call(app, 'GET', path, { key: app.keys.viewer });
      expect({ path, status: res.status, type: res.headers.get('content-type') }).toEqual({ path, status: 400, type: expect.stringMatching(/application\/problem\+json/) });
      expect(res.body.errors.map((e: any) => e.field)).toContain(field);
      return res.body;
    };
    expect((await expect400('/v1/reports/portfolio?asOf=2025-02-30', 'asOf')).code).toBe('DATE_INVALID');
    expect((await expect400('/v1/reports/portfolio?limit=0', 'limit')).code).toBe('LIMIT_INVALID');
    await expect400('/v1/reports/portfolio?limit=100000', 'limit');
    await expect400('/v1/reports/portfolio?limit=-1', 'limit');
    await expect400('/v1/reports/portfolio?limit=abc', 'limit');
    expect((await expect400('/v1/reports/portfolio?format=xml', 'format')).code).toBe('FORMAT_INVALID');
    await expect400('/v1/reports/portfolio?bucket=5', 'bucket');
    await expect400('/v1/reports/portfolio?status=OPEN', 'status');
    await expect400('/v1/reports/payments?from=2025-02-30&to=2025-03-01', 'from');
    await expect400('/v1/reports/payments?from=2025-03-01&to=2025-02-01', 'to');
    await expect400('/v1/reports/payments?from=2020-01-01&to=2025-02-01', 'to');
    await expect400('/v1/reports/payments?to=2025-02-01', 'from');
    await expect400('/v1/reports/payments?from=2025-01-01&to=2025-02-01&format=pdf', 'format');

    // Cursors: a real one works; altered (payload or signature), forged, or replayed with other filters: 400.
    const page = (await call(app, 'GET', `/v1/reports/portfolio?asOf=${BASE}&limit=3`, { key: app.keys.viewer })).body;
    const cursor: string = page.nextCursor;
    expect((await call(app, 'GET', `/v1/reports/portfolio?asOf=${BASE}&limit=3&cursor=${cursor}`, { key: app.keys.viewer })).status).toBe(200);
    const [payload, sig] = cursor.split('.');
    const lastId = Buffer.from(payload, 'base64url').toString();
    expect(lastId).toBe(page.rows[2].id);
    const otherId = Buffer.from(page.rows[0].id).toString('base64url');
    const flip = (s: string) => s.slice(0, -2) + (s[s.length - 2] === 'A' ? 'B' : 'A') + s.slice(-1);
    for (const bad of [`${otherId}.${sig}`, `${payload}.${flip(sig)}`, flip(payload) + '.' + sig, payload, 'garbage', `${otherId}.${'A'.repeat(24)}`]) {
      expect((await expect400(`/v1/reports/portfolio?asOf=${BASE}&limit=3&cursor=${encodeURIComponent(bad)}`, 'cursor')).code).toBe('CURSOR_INVALID');
    }
    await expect400(`/v1/reports/portfolio?asOf=2026-01-01&limit=3&cursor=${cursor}`, 'cursor');
    await expect400(`/v1/reports/portfolio?asOf=${BASE}&status=ACTIVE&limit=3&cursor=${cursor}`, 'cursor');
    const payCursor = (await call(app, 'GET', `/v1/reports/payments?from=2025-06-01&to=2026-05-31&limit=2`, { key: app.keys.viewer })).body.nextCursor;
    await expect400(`/v1/reports/portfolio?asOf=${BASE}&cursor=${payCursor}`, 'cursor');
    await expect400(`/v1/reports/payments?from=2025-06-01&to=2026-05-30&limit=2&cursor=${payCursor}`, 'cursor');

    // The viewer role is needed.
    expect((await call(app, 'GET', '/v1/reports/portfolio')).status).toBe(401);
  });
});

function pickFigures(row: any) {
  const { expectedInstallments, pendingInstallments, overdueInstallments, overdueAmount, nextDueDate, nextDueAmount, arrearsBucket } = row;
  return { expectedInstallments, pendingInstallments, overdueInstallments, overdueAmount, nextDueDate, nextDueAmount, arrearsBucket };
}
