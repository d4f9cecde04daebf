import { call, HttpAnswer, TestApp } from './harness';

/** Uploads a payment file as the CLI and curl do: the raw body with its media type and the file's key. */
export async function uploadFile(app: TestApp, body: string | Buffer, key: string, opts: { type?: string; mode?: string } = {}): Promise<HttpAnswer> {
  const res = await fetch(`${app.url}/v1/payment-batches${opts.mode ? `?mode=${opts.mode}` : ''}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${app.keys.operator}`, 'content-type': opts.type ?? 'text/csv', 'idempotency-key': key },
    body,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** Waits (with a deadline) until the batch has finished; answers its view. */
export async function waitForBatch(app: TestApp, id: string, timeoutMs = 120_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await call(app, 'GET', `/v1/payment-batches/${id}`, { key: app.keys.viewer });
    if (['COMPLETED', 'CANCELLED', 'FAILED'].includes(res.body.status)) return res.body;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${res.body.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function csvFile(rows: Array<Record<string, string>>, columns = ['creditId', 'amount', 'paymentDate', 'reference', 'lineKey']): string {
  return [columns.join(','), ...rows.map((r) => columns.map((c) => r[c] ?? '').join(','))].join('\n') + '\n';
}
