/**
 * PAYLOAD_CODEC_KEYS parsing, apart from the codec so that reading the configuration does not load
 * Temporal's protobuf definitions (the CLI reads it too).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { secretFile } from './secret-file';

export interface CodecKey {
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

/** PAYLOAD_CODEC_KEYS: `id:base64key,id:base64key` (first encrypts); each key 32 bytes. Throws naming the bad entry. */
export function parseCodecKeys(setting: string): CodecKey[] {
  const keys = setting
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
    .map((entry) => {
      const colon = entry.indexOf(':');
      const id = entry.slice(0, colon);
      if (colon < 1 || !/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new Error(`each key is id:base64 with an id of letters, digits, dot, dash or underscore`);
      const key = Buffer.from(entry.slice(colon + 1), 'base64');
      if (key.length !== 32) throw new Error(`key ${id} must be 32 bytes, base64-encoded (openssl rand -base64 32)`);
      return { id, key };
    });
  if (keys.length === 0) throw new Error('give at least one key');
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new Error('key ids must differ');
  return keys;
}

/**
 * The PAYLOAD_CODEC_KEYS setting abono's own launchers use when none is given (npm start's embedded
 * Temporal, the cluster's processes): a key made at first start, kept in the data folder (mode 0600).
 */
export function localCodecKeySetting(dataDir: string): string {
  return secretFile(path.join(dataDir, 'payload-codec-keys'), () => `local-${Date.now().toString(36)}:${randomBytes(32).toString('base64')}\n`).trim();
}
