import fs from 'node:fs';
import { Connection, type TLSConfig } from '@temporalio/client';
import { loadConfig } from '../../src/config';
import { createCredit, pay, startTestApp, TestApp } from '../support/harness';
import { startTlsTemporal, TlsTemporal } from '../support/temporal-tls-server';

/** A Temporal server that requires client certificates: abono connects with its own; a client without one is refused. */
describe('mTLS to Temporal', () => {
  let server: TlsTemporal;
  let app: TestApp | undefined;
  beforeAll(async () => {
    server = await startTlsTemporal();
  }, 120_000);
  afterAll(async () => {
    await app?.stop();
    await server?.stop();
  });

  const settings = () => ({
    TEMPORAL_TLS_CERT: server.files.clientCert,
    TEMPORAL_TLS_KEY: server.files.clientKey,
    TEMPORAL_TLS_CA: server.files.ca,
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
  });

  it('abono (client and worker) connects with the configured certificate and applies a payment', async () => {
    app = await startTestApp({ TEMPORAL_ADDRESS: server.address, ...settings() });
    const credit = await createCredit(app);
    const paid = await pay(app, credit.id, '25.00');
    expect(paid.status).toBe(201);
    expect(paid.body.status).toBe('APPLIED');
  }, 90_000);

  it('a client without a certificate, or without TLS, is refused', async () => {
    const ca = fs.readFileSync(server.files.ca);
    const attempt = async (tls: TLSConfig | false) => {
      const c = await Connection.connect({ address: server.address, tls, connectTimeout: 3000 });
      try {
        await c.workflowService.getSystemInfo({});
      } finally {
        await c.close();
      }
    };
    await expect(attempt({ serverNameOverride: 'localhost', serverRootCACertificate: ca })).rejects.toThrow();
    await expect(attempt(false)).rejects.toThrow();
  });

  it('refuses bad settings at start with the variable named', () => {
    const base = { ...process.env, ...settings() };
    expect(() => loadConfig({ ...base, TEMPORAL_TLS_KEY: undefined })).toThrow(/TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY/);
    expect(() => loadConfig({ ...base, TEMPORAL_TLS_CA: '/nonexistent/ca.pem' })).toThrow(/TEMPORAL_TLS_CA: cannot read/);
    expect(() => loadConfig({ ...base, TEMPORAL_TLS_CERT: server.files.clientKey })).toThrow(/TEMPORAL_TLS_CERT: .* is not a PEM certificate/);
    expect(() => loadConfig({ ...base, TEMPORAL_TLS_KEY: server.files.caKey })).toThrow(/TEMPORAL_TLS_KEY: the key does not belong/);
    expect(loadConfig(base).temporal.tls?.clientCertPair).toBeDefined();
  });
});
