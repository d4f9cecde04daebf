import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import type { Logger } from '../logger';
import { configureApiKeyCache, forgetApiKeys } from '../db/api-keys';

export const API_KEY_CHANNEL = 'abono_api_keys';
const RECONNECT_MS = 1000;

export interface KeyRevocationListener {
  stop(): Promise<void>;
}

/**
 * Revocation everywhere at once: one connection per process LISTENs on the channel the api_keys
 * trigger notifies (migration ApiKeyChanges) and drops the process's cached key lookups on each
 * change. While that connection is down nothing would tell this process of a revocation, so the
 * cache is switched off (every request looks its key up) until it is back.
 */
export async function listenForKeyChanges(databaseUrl: string, ds: DataSource, opts: { cacheMs: number; log: Logger }): Promise<KeyRevocationListener> {
  let stopped = false;
  let client: Client | undefined;
  let retry: NodeJS.Timeout | undefined;

  const lost = (err?: Error) => {
    if (stopped) return;
    configureApiKeyCache(ds, { ttlMs: 0 });
    forgetApiKeys(ds);
    opts.log.warn({ err }, 'API key change listener lost its connection; looking every key up until it is back');
    client?.removeAllListeners();
    client?.end().catch(() => undefined);
    client = undefined;
    retry ??= setTimeout(() => {
      retry = undefined;
      connect().catch(lost);
    }, RECONNECT_MS);
  };

  const connect = async () => {
    const c = new Client({ connectionString: databaseUrl, application_name: 'abono-key-listener' });
    c.on('error', lost);
    c.on('end', () => lost());
    c.on('notification', () => forgetApiKeys(ds));
    await c.connect();
    await c.query(`LISTEN ${API_KEY_CHANNEL}`);
    client = c;
    // Anything revoked while the connection was down is looked up afresh.
    forgetApiKeys(ds);
    configureApiKeyCache(ds, { ttlMs: opts.cacheMs });
  };

  configureApiKeyCache(ds, { ttlMs: 0 });
  await connect().catch(lost);
  return {
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = undefined;
      c?.removeAllListeners();
      c?.on('error', () => undefined);
      await c?.end().catch(() => undefined);
    },
  };
}
