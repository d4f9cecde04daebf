// Temporal sees no secrets: payloads are encrypted by the codec (AES-256-GCM, key ids, rotation);
// encoded histories replay with the codec; abono serves the Temporal UI's codec endpoint.
// To re-record the encoded history: RECORD_HISTORIES=1 npx jest test/replay/security-codec.test.ts
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { AesGcmPayloadCodec, parseCodecKeys } from '../../src/security/payload-codec';
import { workflowBundle } from '../../src/worker/worker';
import { call, createCredit, startTestApp, TestApp } from '../support/harness';

// Test keys only (the recorded history below was encrypted with TEST_KEYS' first key).
const OLD = 'k2025:' + Buffer.alloc(32, 7).toString('base64');
const NEW = 'k2026:' + Buffer.alloc(32, 9).toString('base64');
const TEST_KEYS = `${NEW},${OLD}`;
const RECORDED = path.join(__dirname, 'encoded-histories', 'payment-applied.json');

const codecOf = (setting: string) => new AesGcmPayloadCodec(parseCodecKeys(setting));
const replay = (json: unknown, codec?: AesGcmPayloadCodec) =>
  workflowBundle().then((bundle) => Worker.runReplayHistory({ workflowBundle: bundle, dataConverter: codec ? { payloadCodecs: [codec] } : undefined }, historyFromJSON(json), 'encoded'));

/**
 * Every payload of a history (metadata and data) but what Temporal and its SDK core keep in clear by
 * design: search attributes (indexed: ids and statuses) and markers' bookkeeping (patch ids, a local
 * activity's type and timing). Local activity results inside markers are abono's, and encrypted.
 */
function payloadsOf(value: unknown, out: Array<{ metadata?: Record<string, Uint8Array>; data?: Uint8Array }> = []) {
  if (!value || typeof value !== 'object') return out;
  const v = value as Record<string, unknown>;
  if (v.data instanceof Uint8Array && v.metadata && typeof v.metadata === 'object') out.push(v as never);
  else for (const [k, child] of Array.isArray(value) ? value.entries() : Object.entries(v)) if (k !== 'searchAttributes' && k !== 'patch-data' && !(k === 'data' && !(child instanceof Uint8Array))) payloadsOf(child, out);
  return out;
}

describe('the payload codec', () => {
  it('encrypts with the first key, names it in the metadata, and still decrypts payloads of an older key after rotation', async () => {
    const clear = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{"amount":"123.45"}') };
    const [old] = await codecOf(OLD).encode([clear]);
    expect(Buffer.from(old.metadata!['encryption-key-id']!).toString()).toBe('k2025');
    expect(Buffer.from(old.data!).toString('latin1')).not.toContain('123.45');
    const rotated = codecOf(TEST_KEYS);
    expect(Buffer.from((await rotated.decode([old]))[0].data!).toString()).toBe('{"amount":"123.45"}');
    const [fresh] = await rotated.encode([clear]);
    expect(Buffer.from(fresh.metadata!['encryption-key-id']!).toString()).toBe('k2026');
    await expect(codecOf(OLD).decode([fresh])).rejects.toThrow(/k2026.*not configured/);
    // A tampered payload does not decrypt.
    const bad = { ...fresh, data: Buffer.from(fresh.data!).map((b, i) => (i === 20 ? b ^ 1 : b)) };
    await expect(rotated.decode([bad])).rejects.toThrow();
  });

  it('a recorded encoded history replays with the codec', async () => {
    const json = JSON.parse(fs.readFileSync(RECORDED, 'utf8'));
    expect(payloadsOf(historyFromJSON(json)).every((p) => Buffer.from(p.metadata!.encoding!).toString() === 'binary/encrypted')).toBe(true);
    await expect(replay(json, codecOf(TEST_KEYS))).resolves.toBeUndefined();
  });
});

describe('with PAYLOAD_CODEC_KEYS', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ PAYLOAD_CODEC_KEYS: TEST_KEYS });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('Temporal holds no amount, reference, idempotency key or actor in clear, and the history replays with the codec', async () => {
    const credit = await createCredit(app);
    const reference = `ref-${randomUUID()}`;
    const key = randomUUID();
    const paid = await call(app, 'POST', '/v1/payments', { key: app.keys.operator, headers: { 'idempotency-key': key }, body: { creditId: credit.id, amount: '123.45', paymentDate: '2026-02-01', reference } });
    expect(paid.status).toBe(201);
    const history = await app.abono.client.workflow.getHandle(`payment-${paid.body.id}`).fetchHistory();
    const payloads = payloadsOf(history);
    expect(payloads.length).toBeGreaterThan(2);
    const clearOnes = JSON.stringify(history.events!.filter((e) => payloadsOf(e).some((p) => Buffer.from(p.metadata!.encoding!).toString() !== 'binary/encrypted')));
    expect(clearOnes).toBe('[]');
    const raw = payloads.map((p) => Buffer.from(p.data!).toString('latin1')).join('\n');
    for (const secret of ['123.45', reference, key, 'test-operator']) expect(raw).not.toContain(secret);

    const json = JSON.parse(historyToJSON(history));
    await expect(replay(json, codecOf(TEST_KEYS))).resolves.toBeUndefined();
    await expect(replay(json)).rejects.toThrow();
    if (process.env.RECORD_HISTORIES === '1') fs.writeFileSync(RECORDED, JSON.stringify(json, null, 1) + '\n');

    // The codec endpoint, as the Temporal UI and CLI call it.
    const input = payloads[0];
    const body = { payloads: [{ metadata: Object.fromEntries(Object.entries(input.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(input.data!).toString('base64') }] };
    expect((await call(app, 'POST', '/codec/decode', { body })).status).toBe(401);
    const decoded = await call(app, 'POST', '/codec/decode', { key: app.keys.viewer, body, headers: { 'x-namespace': 'default' } });
    expect(decoded.status).toBe(200);
    expect(Buffer.from(decoded.body.payloads[0].metadata.encoding, 'base64').toString()).toBe('json/plain');
    expect(Buffer.from(decoded.body.payloads[0].data, 'base64').toString()).toContain('"amount":"123.45"');
    const encoded = await call(app, 'POST', '/codec/encode', { key: app.keys.viewer, body: decoded.body });
    expect(encoded.status).toBe(200);
    expect(Buffer.from(encoded.body.payloads[0].metadata['encryption-key-id'], 'base64').toString()).toBe('k2026');

    // Across origins only for the Temporal UI's.
    const preflight = (origin: string) => call(app, 'OPTIONS', '/codec/decode', { headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-namespace' } });
    expect((await preflight('http://127.0.0.1:8233')).headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8233');
    expect((await preflight('https://evil.example.net')).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses a bad key setting at start with the variable named', () => {
    expect(() => loadConfig({ PAYLOAD_CODEC_KEYS: 'k1:c2hvcnQ=' })).toThrow(/PAYLOAD_CODEC_KEYS.*32 bytes/);
  });
});
