// The API as the dashboard calls it: the key the person pasted (this tab's sessionStorage only), JSON answers,
// problem+json errors as Error with the problem's code, and downloads that carry the key.
const KEY_STORE = 'abono.apiKey';

export const key = {
  get: () => sessionStorage.getItem(KEY_STORE),
  set: (k) => sessionStorage.setItem(KEY_STORE, k),
  forget: () => sessionStorage.removeItem(KEY_STORE),
};

/** The key was refused (401) or lacks the role (403): the app asks for another. */
export class KeyRefused extends Error {}

export class ApiError extends Error {
  constructor(status, body) {
    super(body.detail || body.title || 'the API answered ' + status);
    this.status = status;
    this.code = body.code;
    this.body = body;
  }
}

/** fetch with the key; answers the parsed JSON body. `body` a string/Blob/File is sent as is with `type`. */
export async function api(path, opts) {
  const o = opts || {};
  const headers = Object.assign({ authorization: 'Bearer ' + key.get(), accept: 'application/json' }, o.headers || {});
  let body = o.body;
  if (body !== undefined && !(body instanceof Blob) && typeof body !== 'string') {
    body = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(path, { method: o.method || 'GET', headers, body, cache: 'no-store' });
  const parsed = await res.json().catch(() => ({}));
  if (res.status === 401) throw new KeyRefused(parsed.detail || 'That key was not accepted.');
  if (!res.ok) throw new ApiError(res.status, parsed);
  return { status: res.status, body: parsed, location: res.headers.get('location') };
}

/** Downloads `path` (sent with the key) as a file named `filename`, through an object URL. */
export async function download(path, filename) {
  const res = await fetch(path, { headers: { authorization: 'Bearer ' + key.get() }, cache: 'no-store' });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => ({})));
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/** A random UUID (v4) also outside secure contexts, where crypto.randomUUID is missing. */
export function newIdempotencyKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return hex.slice(0, 8) + '-' + hex.slice(8, 12) + '-' + hex.slice(12, 16) + '-' + hex.slice(16, 20) + '-' + hex.slice(20);
}
