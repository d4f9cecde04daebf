import { call, HttpAnswer, TestApp } from './harness';

// Every credit: 1000.00 at 5 % a period over 4 from 2025-01-01, so 1200.00 in four instalments of 300.00 (250.00 + 50.00).
// Paid 300.00 (instalment 1) then 350.00 (instalment 2 and 50.00 of 3: 291.67 + 58.33): 650.00 paid, 550.00 left, 2 paid.
export const CREDITS_HEADER = 'id,client_id,amount,interest_rate,total_installments,start_date,total_amount,installment_amount,paid_installments,balance,total_paid';
export const PAYMENTS_HEADER = 'id,credit_id,amount,payment_date,installment_number,principal_portion,interest_portion';

/** A legacy export with the seeds' failure modes planted on known credits; ids prefixed so exports never collide. */
export function legacyExport(prefix: string) {
  const id = (n: number) => `${prefix}${n}`;
  const credit = (n: number, figures: string, installments = 4) => `${id(n)},client-${n},1000.00,5,${installments},2025-01-01,${figures}`;
  const right = '1200.00,300.00,2,550.00,650.00';
  const credits = [
    CREDITS_HEADER,
    credit(1, right),
    credit(2, '1200.00,300.00,2,250.00,950.00'), // a payment counted twice (two signals firing)
    credit(3, '1200.00,300.00,1,550.00,650.00'), // paid_installments left stale
    credit(4, '1200.00,300.00,2,600.00,650.00'), // balance ≠ total − paid
    credit(5, right), // float-ratio principal portion on its second payment
    credit(6, '1200.00,300.00,4,-100.00,1300.00'), // overpaid
    credit(7, right, 0), // terms abono refuses
    credit(8, right),
  ];
  let p = 0;
  const two = (n: number, second = '291.67') => [`${id(100 + ++p)},${id(n)},300.00,2025-01-05,1,250.00,50.00`, `${id(100 + ++p)},${id(n)},350.00,2025-02-05,2,${second},58.33`];
  const payments = [
    PAYMENTS_HEADER,
    ...[1, 2, 3, 4].flatMap((n) => two(n)),
    ...two(5, '291.666666666667'),
    `${id(100 + ++p)},${id(6)},1200.00,2025-01-05,,,`,
    `${id(100 + ++p)},${id(6)},100.00,2025-02-05,,,`,
    ...two(7),
    // Credit 8's payments in the file in the wrong order: abono applies them by date.
    ...two(8).reverse(),
    `${id(100 + ++p)},${id(99)},10.00,2025-02-05,,,`, // a credit the file does not hold
  ];
  const planted: Record<string, string[]> = {
    [id(2)]: ['BALANCE_DIFFERS', 'TOTAL_PAID_DIFFERS'],
    [id(3)]: ['PAID_INSTALLMENTS_DIFFERS'],
    [id(4)]: ['BALANCE_DIFFERS', 'BALANCE_NOT_TOTAL_MINUS_PAID'],
    [id(5)]: ['PORTION_DIFFERS'],
    [id(6)]: ['BALANCE_DIFFERS', 'OVERPAID', 'TOTAL_PAID_DIFFERS'],
    [id(7)]: ['TERMS_REFUSED'],
    [id(99)]: ['PAYMENT_REFUSED'],
  };
  return { credits: credits.join('\n') + '\n', payments: payments.join('\n') + '\n', planted, id };
}

/** Uploads a legacy export as the CLI and curl do: multipart parts mapping (optional), credits, payments. */
export async function uploadImport(app: TestApp, f: { credits: string | Buffer; payments: string | Buffer; mapping?: string; mode?: string; key?: string }): Promise<HttpAnswer> {
  const form = new FormData();
  if (f.mapping !== undefined) form.append('mapping', new Blob([f.mapping]), 'mapping.yaml');
  form.append('credits', new Blob([f.credits]), 'credits.csv');
  form.append('payments', new Blob([f.payments]), 'payments.csv');
  const res = await fetch(`${app.url}/v1/imports${f.mode ? `?mode=${f.mode}` : ''}`, { method: 'POST', headers: { authorization: `Bearer ${f.key ?? app.keys.admin}` }, body: form });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** Waits (with a deadline) until the import has finished; answers its view. */
export async function waitForImport(app: TestApp, id: string, timeoutMs = 180_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await call(app, 'GET', `/v1/imports/${id}`, { key: app.keys.viewer });
    if (['COMPLETED', 'CANCELLED', 'FAILED'].includes(res.body.status)) return res.body;
    if (Date.now() > deadline) throw new Error(`import ${id} still ${res.body.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Every difference of an import, page by page: legacy credit id → its codes (sorted, distinct). */
export async function codesByCredit(app: TestApp, id: string, pageSize = 7): Promise<Record<string, string[]>> {
  const out: Record<string, Set<string>> = {};
  let cursor: string | null = null;
  do {
    const page: HttpAnswer = await call(app, 'GET', `/v1/imports/${id}/differences?limit=${pageSize}${cursor ? `&cursor=${cursor}` : ''}`, { key: app.keys.viewer });
    for (const d of page.body.differences) (out[d.legacyCreditId] ??= new Set()).add(d.code);
    cursor = page.body.next;
  } while (cursor);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}
