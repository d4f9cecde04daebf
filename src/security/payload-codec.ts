/**
 * Temporal sees no secrets: every payload (workflow and activity inputs and results, update and
 * query results, schedule arguments) is encrypted with AES-256-GCM before it leaves abono. Each
 * encrypted payload names its key id in its metadata; the first configured key encrypts, all of
 * them decrypt, so a rotation adds a new key first and keeps the old ones until no history needs
 * them. A payload that is not encrypted (recorded before the codec) passes through unchanged.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { type CodecKey, localCodecKeySetting, parseCodecKeys } from './codec-keys';

export { type CodecKey, parseCodecKeys };

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;
  constructor(private readonly keys: CodecKey[]) {
    if (keys.length === 0) throw new Error('the payload codec needs at least one key');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keys[0];
    return payloads.map((p) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      // The key id is authenticated with the ciphertext: a payload cannot be relabelled.
      cipher.setAAD(utf8(id));
      const clear = temporal.api.common.v1.Payload.encode(p).finish();
      const data = Buffer.concat([iv, cipher.update(clear), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(id) }, data };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (text(p.metadata?.encoding) !== ENCRYPTED_ENCODING) return p;
      const id = text(p.metadata?.[KEY_ID_METADATA]) ?? '';
      const key = this.byId.get(id);
      if (!key) throw new Error(`payload encrypted with key "${id}", which is not configured (PAYLOAD_CODEC_KEYS)`);
      const data = Buffer.from(p.data ?? new Uint8Array());
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(utf8(id));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const clear = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(clear);
    });
  }
}

/** The data converter for clients and workers: the codec when keys are configured, Temporal's default otherwise. */
export function dataConverterFor(keys: CodecKey[] | undefined) {
  return keys && keys.length ? { payloadCodecs: [new AesGcmPayloadCodec(keys)] } : undefined;
}

/**
 * `npm start` with its embedded Temporal and no PAYLOAD_CODEC_KEYS: a key made at first start and
 * kept in the data folder (mode 0600), so the local UI's histories are encrypted too.
 */
export function embeddedCodecKeys(dataDir: string): CodecKey[] {
  return parseCodecKeys(localCodecKeySetting(dataDir));
}
