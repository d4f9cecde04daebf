import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { snapshot } from '../support/db';
import { call, createCredit, creditBody, HttpAnswer, pay, startTestApp, TestApp } from '../support/harness';
import { rawRequest } from '../support/raw-http';

// Hostile input: every answer is a 4xx problem+json with a code, and the database is as it was.
type Who = 'admin' | 'operator' | 'viewer';
interface Hostile {
  method?: string;
  path?: string | (() => string);
  who?: Who;
  body?: unknown | (() => unknown);
  rawBody?: string;
  headers?: Record<string, string>;
  noIdempotencyKey?: boolean;
  /** The exact bytes of the request head (for what fetch would tidy up); the body follows. */
  raw?: () => { head: string; body?: string | Buffer };
  status?: number;
  code?: string;
}

const SQL = ["' OR '1'='1", "1; DROP TABLE payments; --", "'); DELETE FROM credits; --", "1' UNION SELECT key_hash FROM api_keys --"];
const SCRIPT = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', 'javascript:alert(1)', '{{7*7}}${7*7}'];
const UNICODE: Array<[string, string]> = [
  ['an RTL override', 'abc\u202Efdp.exe'],
  ['a zero-width space', 'client\u200B1'],
  ['a zero-width joiner', 'a\u200Db'],
  ['a NUL', 'abc\u0000def'],
  ['a lone high surrogate', 'abc\uD800'],
  ['a lone low surrogate', '\uDC00abc'],
  ['a byte-order mark', '\uFEFFabc'],
  ['an escape sequence', '\u001b[31mred'],
  ['a C1 control', 'a\u0085b'],
  ['a bidi isolate', 'a\u2067b\u2069'],
];
const AMOUNTS = ['-1', '-0.01', '0', '0.00', '-0', '1.001', '0.001', '1e3', '1E3', '1000000000000000', '9999999999999.99', '999999999999999999999999999', ' 10.00', '10.00 ', '+10.00', '10.', '.5', '0x10', 'Infinity', '-Infinity', 'NaN', '1_000.00', '1,000.00', '10.00.00', '１００.00', '١٠٠', '10\u200B0.00', ''];
const DATES = ['2026-02-30', '2026-02-29', '2026-13-01', '2026-00-10', '2026-01-00', '2026-01-32', '0000-00-00', '2026-2-1', '20260201', '2026-02-01T00:00:00Z', '+275760-09-13', '99999-01-01', '2026/02/01', ''];

describe('hostile input changes nothing', () => {
  let app: TestApp;
  let creditId: string;
  let paymentId: string;

  beforeAll(async () => {
    app = await startTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
    creditId = (await createCredit(app)).id;
    const p = await pay(app, creditId, '100.00');
    expect(p.status).toBe(201);
    paymentId = p.body.id;
  });
  afterAll(async () => {
    await app?.stop();
  });

  const payment = (over: Record<string, unknown>) => () => ({ creditId, amount: '10.00', paymentDate: '2026-02-01', ...over });
  const credit = (over: Record<string, unknown>) => () => creditBody(over);
  const long = (n: number) => 'x'.repeat(n);
  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  const nestedObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  const rawPost = (path: string, who: Who, headers: string[], body: string) => () => ({
    head: [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', `Authorization: Bearer ${app.keys[who]}`, ...headers, `Content-Length: ${Buffer.byteLength(body)}`].join('\r\n'),
    body,
  });

  const cases: Array<[string, Hostile]> = [
    // Malformed and nested JSON
    ...(
      [
        ['a truncated object', '{"creditId": '],
        ['a trailing comma', '{"amount":"1.00",}'],
        ['single quotes', "{'amount':'1.00'}"],
        ['a bare string', '"1.00"'],
        ['a bare number', '100'],
        ['null', 'null'],
        ['an empty body', ''],
        ['an array', '[{"amount":"1.00"}]'],
        ['a NaN literal', '{"amount":NaN}'],
        ['a comment', '{"amount":"1.00" /* x */}'],
        ['5000 nested arrays', nested(5000)],
        ['2000 nested objects', nestedObject(2000)],
      ] as Array<[string, string]>
    ).map(([name, rawBody]): [string, Hostile] => [`payment: ${name}`, { path: '/v1/payments', rawBody, headers: { 'content-type': 'application/json' } }]),
    ['payment: invalid UTF-8 in the amount', {
      raw: () => {
        const body = Buffer.concat([Buffer.from(`{"creditId":"${creditId}","amount":"1`), Buffer.from([0xff, 0xfe]), Buffer.from('.00"}')]);
        return { head: ['POST /v1/payments HTTP/1.1', 'Host: 127.0.0.1', `Authorization: Bearer ${app.keys.operator}`, `Idempotency-Key: ${randomUUID()}`, 'Content-Type: application/json', `Content-Length: ${body.length}`].join('\r\n'), body };
      },
    }],
    ['payment: an amount nested 3000 deep', { path: '/v1/payments', rawBody: `{"creditId":"${'00000000-0000-0000-0000-000000000000'}","amount":${nested(3000)}}`, headers: { 'content-type': 'application/json' } }],
    ['credit: 2000 nested objects', { path: '/v1/credits', who: 'admin', rawBody: nestedObject(2000), headers: { 'content-type': 'application/json' } }],
    // Huge bodies
    ['payment: a 17 kB reference', { path: '/v1/payments', body: payment({ reference: long(17_000) }), status: 413, code: 'BODY_TOO_LARGE' }],
    ['payment: a 2 MB body', { path: '/v1/payments', body: payment({ reference: long(2_000_000) }), status: 413, code: 'BODY_TOO_LARGE' }],
    ['credit: a 100 kB body', { path: '/v1/credits', who: 'admin', body: credit({ clientId: long(100_000) }), status: 413, code: 'BODY_TOO_LARGE' }],
    ['payment: a chunked body past the limit (no Content-Length)', {
      path: '/v1/payments',
      raw: () => {
        const json = JSON.stringify({ creditId, amount: '1.00', reference: long(40_000) });
        const chunks = json.match(/[\s\S]{1,4096}/g)!.map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join('') + '0\r\n\r\n';
        return { head: ['POST /v1/payments HTTP/1.1', 'Host: 127.0.0.1', `Authorization: Bearer ${app.keys.operator}`, `Idempotency-Key: ${randomUUID()}`, 'Content-Type: application/json', 'Transfer-Encoding: chunked'].join('\r\n'), body: chunks };
      },
      status: 413,
    }],
    ['payment: a reference of 201 characters', { path: '/v1/payments', body: payment({ reference: long(201) }) }],
    ['reversal: a reason of 501 characters', { path: () => `/v1/payments/${paymentId}/reversal`, body: { reason: long(501) } }],
    // Wrong types
    ...(
      [
        ['amount as a number', { amount: 10 }],
        ['amount null', { amount: null }],
        ['amount true', { amount: true }],
        ['amount an object', { amount: { value: '10.00' } }],
        ['amount an array', { amount: ['10.00'] }],
        ['creditId a number', { creditId: 12345 }],
        ['creditId an array', { creditId: [randomUUID()] }],
        ['creditId null', { creditId: null }],
        ['paymentDate a number', { paymentDate: 20260201 }],
        ['paymentDate an object', { paymentDate: { $gt: '' } }],
        ['reference a number', { reference: 7 }],
        ['reference an object', { reference: { toString: 'x' } }],
        ['no amount', { amount: undefined }],
        ['no creditId', { creditId: undefined }],
      ] as Array<[string, Record<string, unknown>]>
    ).map(([name, over]): [string, Hostile] => [`payment: ${name}`, { path: '/v1/payments', body: payment(over) }]),
    ...(
      [
        ['installments a string', { installments: '4' }],
        ['installments 1.5', { installments: 1.5 }],
        ['installments 0', { installments: 0 }],
        ['installments 601', { installments: 601 }],
        ['installments -1', { installments: -1 }],
        ['installments 1e308', { installments: 1e308 }],
        ['periodDays 0', { periodDays: 0 }],
        ['periodDays a string', { periodDays: '30' }],
        ['principal a number', { principal: 1000 }],
        ['principal "0"', { principal: '0' }],
        ['principal "-1000.00"', { principal: '-1000.00' }],
        ['principal 10^15', { principal: '1000000000000000' }],
        ['principal over-precise', { principal: '1000.001' }],
        ['interestRate a number', { interestRate: 0.05 }],
        ['interestRate negative', { interestRate: '-0.05' }],
        ['interestRate 11 decimals', { interestRate: '0.12345678901' }],
        ['interestRate "5%"', { interestRate: '5%' }],
        ['scheduleType lower case', { scheduleType: 'flat' }],
        ['scheduleType unknown', { scheduleType: 'BALLOON' }],
        ['clientId empty', { clientId: '' }],
        ['clientId blank', { clientId: '   ' }],
        ['clientId 101 characters', { clientId: long(101) }],
        ['clientId a number', { clientId: 42 }],
        ['startDate 2026-02-30', { startDate: '2026-02-30' }],
        ['startDate a number', { startDate: 20260101 }],
        ['an unknown field', { balance: '0.00' }],
        ['an id of our choosing', { id: randomUUID() }],
        ['a status of our choosing', { status: 'PAID_OFF' }],
      ] as Array<[string, Record<string, unknown>]>
    ).map(([name, over]): [string, Hostile] => [`credit: ${name}`, { path: '/v1/credits', who: 'admin', body: credit(over) }]),
    // Unicode tricks in every free-text field
    ...UNICODE.flatMap(([name, s]): Array<[string, Hostile]> => [
      [`payment: reference with ${name}`, { path: '/v1/payments', body: payment({ reference: s }) }],
      [`credit: clientId with ${name}`, { path: '/v1/credits', who: 'admin', body: credit({ clientId: s }) }],
      [`reversal: reason with ${name}`, { path: () => `/v1/payments/${paymentId}/reversal`, body: { reason: s } }],
      [`payment: creditId with ${name}`, { path: '/v1/payments', body: () => payment({ creditId: creditId.slice(0, 10) + s + creditId.slice(10) })() }],
    ]),
    ['payment: a creditId with a Cyrillic homoglyph', { path: '/v1/payments', body: () => payment({ creditId: '\u0430' + creditId.slice(1) })() }],
    // SQL and script fragments in every field whose format is fixed (free text: see below)
    ...[...SQL, ...SCRIPT].flatMap((s): Array<[string, Hostile]> => [
      [`payment: creditId ${JSON.stringify(s)}`, { path: '/v1/payments', body: payment({ creditId: s }) }],
      [`payment: amount ${JSON.stringify(s)}`, { path: '/v1/payments', body: payment({ amount: s }) }],
      [`payment: paymentDate ${JSON.stringify(s)}`, { path: '/v1/payments', body: payment({ paymentDate: s }) }],
      [`credit: principal ${JSON.stringify(s)}`, { path: '/v1/credits', who: 'admin', body: credit({ principal: s }) }],
      [`credit: interestRate ${JSON.stringify(s)}`, { path: '/v1/credits', who: 'admin', body: credit({ interestRate: s }) }],
      [`credit: startDate ${JSON.stringify(s)}`, { path: '/v1/credits', who: 'admin', body: credit({ startDate: s }) }],
      [`credit: scheduleType ${JSON.stringify(s)}`, { path: '/v1/credits', who: 'admin', body: credit({ scheduleType: s }) }],
      [`GET credit id ${JSON.stringify(s)}`, { method: 'GET', who: 'viewer', path: `/v1/credits/${encodeURIComponent(s)}` }],
      [`GET payment id ${JSON.stringify(s)}`, { method: 'GET', who: 'viewer', path: `/v1/payments/${encodeURIComponent(s)}` }],
      [`GET credit asOf ${JSON.stringify(s)}`, { method: 'GET', who: 'viewer', path: () => `/v1/credits/${creditId}?asOf=${encodeURIComponent(s)}` }],
      [`reversal of payment id ${JSON.stringify(s)}`, { path: `/v1/payments/${encodeURIComponent(s)}/reversal`, body: { reason: 'x' } }],
    ]),
    ...SQL.filter((s) => / /.test(s)).map((s): [string, Hostile] => [`payment: Idempotency-Key ${JSON.stringify(s)}`, { path: '/v1/payments', body: payment({}), headers: { 'idempotency-key': s } }]),
    // Amounts and dates
    ...AMOUNTS.map((a): [string, Hostile] => [`payment: amount ${JSON.stringify(a)}`, { path: '/v1/payments', body: payment({ amount: a }) }]),
    ...DATES.map((d): [string, Hostile] => [`payment: paymentDate ${JSON.stringify(d)}`, { path: '/v1/payments', body: payment({ paymentDate: d }) }]),
    ...DATES.map((d): [string, Hostile] => [`credit: startDate ${JSON.stringify(d)}`, { path: '/v1/credits', who: 'admin', body: credit({ startDate: d }) }]),
    ...DATES.filter(Boolean).map((d): [string, Hostile] => [`GET credit asOf=${d}`, { method: 'GET', who: 'viewer', path: () => `/v1/credits/${creditId}?asOf=${encodeURIComponent(d)}` }]),
    ['GET credit with two asOf values', { method: 'GET', who: 'viewer', path: () => `/v1/credits/${creditId}?asOf=2026-01-01&asOf=2026-02-01` }],
    // Unknown fields
    ...(
      [
        ['an unknown field', { discount: '5.00' }],
        ['a status of our choosing', { status: 'APPLIED' }],
        ['an id of our choosing', { id: randomUUID() }],
        ['an actor of our choosing', { actor: 'admin' }],
        ['__proto__', JSON.parse('{"__proto__": {"isAdmin": true}}')],
        ['constructor', { constructor: { prototype: { isAdmin: true } } }],
      ] as Array<[string, Record<string, unknown>]>
    ).map(([name, over]): [string, Hostile] => [`payment: ${name}`, { path: '/v1/payments', rawBody: JSON.stringify({ creditId: '%CREDIT%', amount: '10.00', ...over }), headers: { 'content-type': 'application/json' } }]),
    ['reversal: an unknown field', { path: () => `/v1/payments/${paymentId}/reversal`, body: { reason: 'x', refund: true } }],
    // Path traversal and odd ids
    ...['..%2F..%2Fetc%2Fpasswd', '%2e%2e', '..', '%00', '%2F', 'null', 'undefined', '0', '-1', `${'a'.repeat(5000)}`].flatMap((id): Array<[string, Hostile]> => [
      [`GET /v1/credits/${id.slice(0, 30)}`, { method: 'GET', who: 'viewer', path: `/v1/credits/${id}` }],
      [`GET /v1/credits/${id.slice(0, 30)}/schedule`, { method: 'GET', who: 'viewer', path: `/v1/credits/${id}/schedule` }],
      [`GET /v1/payments/${id.slice(0, 30)}`, { method: 'GET', who: 'viewer', path: `/v1/payments/${id}` }],
      [`POST /v1/payments/${id.slice(0, 30)}/reversal`, { path: `/v1/payments/${id}/reversal`, body: { reason: 'x' } }],
    ]),
    ['raw GET /v1/credits/../../etc/passwd', { raw: () => ({ head: `GET /v1/credits/../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${app.keys.viewer}` }) }],
    ['raw GET /v1/payments/../credits/<id>', { raw: () => ({ head: `GET /v1/payments/../credits/${creditId}/../../../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${app.keys.viewer}` }) }],
    ['PUT /v1/payments', { method: 'PUT', path: '/v1/payments', body: payment({}) }],
    ['DELETE /v1/credits/:id', { method: 'DELETE', who: 'admin', path: () => `/v1/credits/${creditId}` }],
    // Duplicate and hostile headers
    ['payment: two Idempotency-Key headers', { raw: rawPost('/v1/payments', 'operator', [`Idempotency-Key: ${randomUUID()}`, `Idempotency-Key: ${randomUUID()}`, 'Content-Type: application/json'], '%PAYMENT%'), code: 'DUPLICATE_HEADER' }],
    ['payment: two Content-Type headers', { raw: rawPost('/v1/payments', 'operator', [`Idempotency-Key: ${randomUUID()}`, 'Content-Type: application/json', 'Content-Type: text/plain'], '%PAYMENT%'), code: 'DUPLICATE_HEADER' }],
    ['payment: two Authorization headers', { raw: rawPost('/v1/payments', 'operator', [`Authorization: Bearer ${'x'.repeat(40)}`, `Idempotency-Key: ${randomUUID()}`, 'Content-Type: application/json'], '%PAYMENT%'), code: 'DUPLICATE_HEADER' }],
    ['credit: two Content-Type headers', { raw: rawPost('/v1/credits', 'admin', ['Content-Type: application/json', 'Content-Type: application/json'], JSON.stringify(creditBody())), code: 'DUPLICATE_HEADER' }],
    ['payment: an Idempotency-Key of 201 characters', { path: '/v1/payments', body: payment({}), headers: { 'idempotency-key': long(201) }, code: 'IDEMPOTENCY_KEY_INVALID' }],
    // Node's parser refuses the bytes before Express runs; abono still answers problem+json.
    ['payment: a non-ASCII Idempotency-Key', { raw: rawPost('/v1/payments', 'operator', ['Idempotency-Key: clé-ключ', 'Content-Type: application/json'], '%PAYMENT%'), status: 400, code: 'BAD_REQUEST' }],
    ['payment: a form body', { path: '/v1/payments', rawBody: 'creditId=x&amount=10.00', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415 }],
    ['payment: JSON sent as text/plain', { path: '/v1/payments', rawBody: '%PAYMENT%', headers: { 'content-type': 'text/plain' }, status: 415 }],
    ['payment: no Content-Type', { raw: rawPost('/v1/payments', 'operator', [`Idempotency-Key: ${randomUUID()}`], '%PAYMENT%'), status: 415 }],
    ['payment: a UTF-16 charset', { path: '/v1/payments', rawBody: '%PAYMENT%', headers: { 'content-type': 'application/json; charset=utf-16' } }],
    ['payment: a gzip body that is not gzip', { path: '/v1/payments', rawBody: '%PAYMENT%', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } }],
    ['payment: an unknown Content-Encoding', { path: '/v1/payments', rawBody: '%PAYMENT%', headers: { 'content-type': 'application/json', 'content-encoding': 'br2' } }],
  ];

  const fill = (s: string) => s.replace('%PAYMENT%', JSON.stringify({ creditId, amount: '10.00', paymentDate: '2026-02-01' })).replace('%CREDIT%', creditId);

  async function send(h: Hostile): Promise<HttpAnswer | { status: number; headers: Headers; body: any }> {
    if (h.raw) {
      const { head, body } = h.raw();
      const r = await rawRequest(app.url, head, typeof body === 'string' ? fill(body) : (body ?? ''));
      return { status: r.status, headers: new Headers(r.headers), body: r.body };
    }
    const method = h.method ?? 'POST';
    const headers: Record<string, string> = { ...(method === 'POST' && !h.noIdempotencyKey ? { 'idempotency-key': randomUUID() } : {}), ...(h.headers ?? {}) };
    const path = typeof h.path === 'function' ? h.path() : h.path!;
    const body = typeof h.body === 'function' ? (h.body as () => unknown)() : h.body;
    return call(app, method, path, { key: app.keys[h.who ?? 'operator'], body, rawBody: h.rawBody !== undefined ? fill(h.rawBody) : undefined, headers });
  }

  it.each(cases)('%s', async (_name, h) => {
    const before = await snapshot(app.abono.ds);
    const res = await send(h);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    if (h.status) expect(res.status).toBe(h.status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: res.status, code: expect.stringMatching(/^[A-Z_]+$/), title: expect.any(String), detail: expect.any(String) });
    if (h.code) expect(res.body.code).toBe(h.code);
    expect(await snapshot(app.abono.ds)).toEqual(before);
  });

  it('stores SQL, script and quote characters in free-text fields verbatim, as data', async () => {
    for (const s of [...SQL, ...SCRIPT, 'O\'Brien "Bob" \\ %_ ; --']) {
      const created = await call(app, 'POST', '/v1/credits', { key: app.keys.admin, body: creditBody({ clientId: s }) });
      expect(created.status).toBe(201);
      expect(created.headers.get('content-type')).toMatch(/^application\/json/);
      expect(created.headers.get('x-content-type-options')).toBe('nosniff');
      const got = await call(app, 'GET', `/v1/credits/${created.body.id}`, { key: app.keys.viewer });
      expect(got.body.clientId).toBe(s);
      const p = await pay(app, created.body.id, '1.00', { reference: s.slice(0, 200) });
      expect(p.status).toBe(201);
      expect(p.body.reference).toBe(s.slice(0, 200));
    }
    const rev = await call(app, 'POST', `/v1/payments/${paymentId}/reversal`, { key: app.keys.operator, body: { reason: `${SQL[1]}\n${SCRIPT[0]}\ttabbed` } });
    expect(rev.status).toBe(200);
    expect(rev.body.reversalReason).toBe(`${SQL[1]}\n${SCRIPT[0]}\ttabbed`);
    // The tables are all there and the log still verifies.
    const [{ n }] = await app.abono.ds.query(`SELECT count(*)::int AS n FROM pg_tables WHERE tablename IN ('credits','payments','api_keys','audit_log')`);
    expect(n).toBe(4);
  });
});

// ---- Property-based fuzzing: bodies that are invalid in at least one field, by construction ----

const isUuid = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
// Anything that looks like a plain number might be a valid amount: the fuzzer's invalid strings avoid them all.
const numberLike = (s: string) => /^\s*[+-]?[\d\s]*\.?\d*\s*$/.test(s);
const dateLike = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s);
const UNSAFE_CHARS = ['\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\u200b', '\u200d', '\u202e', '\u2066', '\ufeff', '\ud800', '\udfff'];

const notAString = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }));
const badMoney = fc.oneof(
  notAString,
  fc.string({ unit: 'binary', maxLength: 20 }).filter((s) => !numberLike(s)),
  fc.integer({ min: 1, max: 10 ** 9 }).map((n) => `-${n}.00`),
  fc.constantFrom('0', '0.00', '-0', '00.000'),
  fc.tuple(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 1, max: 999_999 })).map(([i, f]) => `${i}.${String(f).padStart(3, '0')}`), // 3+ decimals
  fc.integer({ min: 1, max: 99 }).map((n) => `${n}e2`),
  fc.bigInt({ min: 10n ** 13n, max: 10n ** 30n }).map((n) => `${n}.00`), // more than 12 integer digits
);
const badDate = fc.oneof(
  notAString,
  fc.string({ unit: 'binary', maxLength: 20 }).filter((s) => !dateLike(s)),
  fc.tuple(fc.integer({ min: 1000, max: 9999 }), fc.integer({ min: 13, max: 99 }), fc.integer({ min: 1, max: 28 })).map(([y, m, d]) => `${y}-${m}-${String(d).padStart(2, '0')}`),
  fc.tuple(fc.integer({ min: 1000, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 32, max: 99 })).map(([y, m, d]) => `${y}-${String(m).padStart(2, '0')}-${d}`),
  fc.integer({ min: 2000, max: 2100 }).map((y) => `${y}-02-30`),
  fc.integer({ min: 2000, max: 2100 }).map((y) => `${y}-00-01`),
);
const badText = (max: number) =>
  fc.oneof(
    notAString,
    fc.tuple(fc.string({ maxLength: 20 }), fc.constantFrom(...UNSAFE_CHARS), fc.string({ maxLength: 20 })).map(([a, c, b]) => `${a}${c}${b}`),
    fc.integer({ min: max + 1, max: max + 50 }).map((n) => 'r'.repeat(n)),
  );
const unknownFields = (known: string[]) =>
  fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !known.includes(k)), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 3 });

/** A body where the fields in `broken` take an invalid value and the others a valid one. */
function bodies(fields: Record<string, { valid: fc.Arbitrary<unknown>; invalid: fc.Arbitrary<unknown> }>, known: string[]) {
  const names = [...Object.keys(fields), '(unknown field)'];
  return fc.subarray(names, { minLength: 1 }).chain((broken) =>
    fc
      .tuple(
        fc.record(Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, broken.includes(k) ? f.invalid : f.valid]))),
        broken.includes('(unknown field)') ? unknownFields(known) : fc.constant({}),
      )
      .map(([body, extra]) => {
        const out: Record<string, unknown> = { ...extra, ...body };
        for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k];
        return { broken, body: out };
      }),
  );
}

describe('fuzzed payment and credit bodies are refused and change nothing', () => {
  let app: TestApp;
  let creditId: string;
  beforeAll(async () => {
    app = await startTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
    creditId = (await createCredit(app)).id;
  });
  afterAll(async () => {
    await app?.stop();
  });

  const check = (res: HttpAnswer, what: unknown) => {
    if (!(res.status >= 400 && res.status < 500) || !/^application\/problem\+json/.test(res.headers.get('content-type') ?? '') || typeof res.body?.code !== 'string' || !res.body.code) {
      throw new Error(`not a 4xx problem with a code: ${res.status} ${JSON.stringify(res.body)} for ${JSON.stringify(what)}`);
    }
  };

  it('payments (200 runs)', async () => {
    const fields = {
      creditId: { valid: fc.constant(creditId), invalid: fc.oneof(notAString, fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !isUuid(s)), fc.constant(undefined)) },
      amount: { valid: fc.integer({ min: 1, max: 50 }).map((n) => `${n}.00`), invalid: fc.oneof(badMoney, fc.constant(undefined)) },
      paymentDate: { valid: fc.constantFrom(undefined, '2026-02-01'), invalid: badDate },
      reference: { valid: fc.option(fc.string({ maxLength: 50 }), { nil: undefined }), invalid: badText(200) },
    };
    const before = await snapshot(app.abono.ds);
    await fc.assert(
      fc.asyncProperty(bodies(fields, ['creditId', 'amount', 'paymentDate', 'reference']), async ({ body }) => {
        check(await call(app, 'POST', '/v1/payments', { key: app.keys.operator, headers: { 'idempotency-key': randomUUID() }, body }), body);
      }),
      { numRuns: 200 },
    );
    expect(await snapshot(app.abono.ds)).toEqual(before);
  });

  it('credits (150 runs)', async () => {
    const fields = {
      clientId: { valid: fc.stringMatching(/^[a-z0-9-]{1,20}$/), invalid: fc.oneof(badText(100), fc.constantFrom('', '   ', undefined)) },
      principal: { valid: fc.integer({ min: 100, max: 100_000 }).map((n) => `${n}.00`), invalid: fc.oneof(badMoney, fc.constant(undefined)) },
      interestRate: {
        valid: fc.constantFrom('0', '0.05', '0.0123'),
        invalid: fc.oneof(notAString, fc.constantFrom('-0.05', '0.12345678901', '5%', '1e-2', '', 'abc', '1000', undefined)),
      },
      installments: { valid: fc.integer({ min: 1, max: 24 }), invalid: fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 601 }), fc.double({ noInteger: true }), fc.string(), fc.constant(null), fc.constant(undefined)) },
      periodDays: { valid: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }), invalid: fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 3661 }), fc.double({ noInteger: true }), fc.string(), fc.constant(null)) },
      startDate: { valid: fc.constantFrom('2026-01-01', '2025-06-15'), invalid: fc.oneof(badDate, fc.constant(undefined)) },
      scheduleType: { valid: fc.constantFrom(undefined, 'FLAT', 'DECLINING'), invalid: fc.oneof(notAString, fc.string().filter((s) => s !== 'FLAT' && s !== 'DECLINING')) },
    };
    const before = await snapshot(app.abono.ds);
    await fc.assert(
      fc.asyncProperty(bodies(fields, Object.keys(fields)), async ({ body }) => {
        check(await call(app, 'POST', '/v1/credits', { key: app.keys.admin, body }), body);
      }),
      { numRuns: 150 },
    );
    expect(await snapshot(app.abono.ds)).toEqual(before);
  });
});
