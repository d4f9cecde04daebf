/**
 * mTLS to Temporal: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY (abono's client certificate and key),
 * TEMPORAL_TLS_CA (the CA that signed the server's certificate; default the system's) and
 * TEMPORAL_TLS_SERVER_NAME (the name the server's certificate carries, when it is not the host in
 * TEMPORAL_ADDRESS). Files are read and parsed at start, so a wrong path or a certificate that
 * does not match its key stops the process with the variable named.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';

export interface TemporalTlsSettings {
  certPath?: string;
  keyPath?: string;
  caPath?: string;
  serverName?: string;
}

/** What Connection.connect and NativeConnection.connect take as `tls`. */
export interface TemporalTls {
  serverNameOverride?: string;
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
}

function readPem(variable: string, file: string, parse: (pem: Buffer) => unknown): Buffer {
  let pem: Buffer;
  try {
    pem = fs.readFileSync(file);
  } catch (err) {
    throw new Error(`${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    parse(pem);
  } catch {
    throw new Error(`${variable}: ${file} is not a PEM ${variable.endsWith('KEY') ? 'private key' : 'certificate'}`);
  }
  return pem;
}

/** Checks and loads the settings; undefined when none are set (plain connection). Throws one line naming the variable. */
export function loadTemporalTls(s: TemporalTlsSettings): TemporalTls | undefined {
  if (!s.certPath && !s.keyPath && !s.caPath && !s.serverName) return undefined;
  if (Boolean(s.certPath) !== Boolean(s.keyPath)) throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: give both (the client certificate and its key) or neither');
  const tls: TemporalTls = { serverNameOverride: s.serverName };
  if (s.caPath) tls.serverRootCACertificate = readPem('TEMPORAL_TLS_CA', s.caPath, (pem) => new X509Certificate(pem));
  if (s.certPath && s.keyPath) {
    const crt = readPem('TEMPORAL_TLS_CERT', s.certPath, (pem) => new X509Certificate(pem));
    const key = readPem('TEMPORAL_TLS_KEY', s.keyPath, (pem) => createPrivateKey(pem));
    if (!new X509Certificate(crt).checkPrivateKey(createPrivateKey(key))) throw new Error('TEMPORAL_TLS_KEY: the key does not belong to the certificate in TEMPORAL_TLS_CERT');
    tls.clientCertPair = { crt, key };
  }
  return tls;
}
