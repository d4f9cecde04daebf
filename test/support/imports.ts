import { call, HttpAnswer, TestApp } from './harness';

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
