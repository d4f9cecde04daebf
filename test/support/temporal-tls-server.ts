import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { msToTs } from '@temporalio/common/lib/time';
import { freePort } from '../../src/observability/metrics';
import { searchAttributeKeys } from '../../src/temporal/search-attributes';

/** Temporal's own server binary (`go install go.temporal.io/server/cmd/server@v1.29.1`). */
export const TEMPORAL_SERVER_BIN = process.env.TEMPORAL_SERVER_PATH ?? path.join(os.homedir(), 'go/bin/server');

export interface TlsFiles {
  ca: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A CA, a server certificate for localhost/127.0.0.1 and a client certificate, made with openssl. */
export function makeCertificates(dir: string): TlsFiles {
  const f = (name: string) => path.join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=abono test CA');
  const sign = (name: string, cn: string, ext: string) => {
    ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    fs.writeFileSync(f(`${name}.ext`), ext);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  };
  sign('server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  sign('client', 'abono', 'extendedKeyUsage=clientAuth\n');
  return { ca: f('ca.pem'), caKey: f('ca.key'), serverCert: f('server.pem'), serverKey: f('server.key'), clientCert: f('client.pem'), clientKey: f('client.key') };
}

function configYaml(files: TlsFiles, ports: number[]): string {
  const [fe, feHttp, feM, ma, maM, hi, hiM, wo, woM] = ports;
  const store = `
      sql:
        pluginName: "sqlite"
        databaseName: "default"
        connectAddr: "localhost"
        connectProtocol: "tcp"
        connectAttributes: { mode: "memory", cache: "private" }
        maxConns: 1
        maxIdleConns: 1
        maxConnLifetime: "1h"`;
  return `log: { stdout: true, level: error }
persistence:
  defaultStore: sqlite-default
  visibilityStore: sqlite-visibility
  numHistoryShards: 1
  datastores:
    sqlite-default:${store}
    sqlite-visibility:${store}
global:
  membership: { maxJoinDuration: 30s, broadcastAddress: "127.0.0.1" }
  tls:
    frontend:
      server: { certFile: "${files.serverCert}", keyFile: "${files.serverKey}", requireClientAuth: true, clientCaFiles: ["${files.ca}"] }
      client: { serverName: localhost, rootCaFiles: ["${files.ca}"] }
    systemWorker:
      certFile: "${files.serverCert}"
      keyFile: "${files.serverKey}"
      client: { serverName: localhost, rootCaFiles: ["${files.ca}"] }
services:
  frontend: { rpc: { grpcPort: ${fe}, httpPort: ${feHttp}, membershipPort: ${feM}, bindOnLocalHost: true } }
  matching: { rpc: { grpcPort: ${ma}, membershipPort: ${maM}, bindOnLocalHost: true } }
  history: { rpc: { grpcPort: ${hi}, membershipPort: ${hiM}, bindOnLocalHost: true } }
  worker: { rpc: { grpcPort: ${wo}, membershipPort: ${woM}, bindOnLocalHost: true } }
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active: { enabled: true, initialFailoverVersion: 1, rpcName: frontend, rpcAddress: "localhost:${fe}", httpAddress: "localhost:${feHttp}" }
dcRedirectionPolicy: { policy: noop }
`;
}

export interface TlsTemporal {
  address: string;
  files: TlsFiles;
  stop(): Promise<void>;
}

/**
 * Temporal's server (SQLite in memory) whose frontend requires client certificates signed by the
 * test CA, with the `default` namespace and abono's search attributes registered through mTLS.
 */
export async function startTlsTemporal(deadlineMs = 90_000): Promise<TlsTemporal> {
  if (!fs.existsSync(TEMPORAL_SERVER_BIN)) {
    throw new Error(`no Temporal server binary at ${TEMPORAL_SERVER_BIN}: go install go.temporal.io/server/cmd/server@v1.29.1, or set TEMPORAL_SERVER_PATH`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abono-tls-'));
  const files = makeCertificates(dir);
  const ports: number[] = [];
  while (ports.length < 9) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  fs.mkdirSync(path.join(dir, 'config'));
  fs.writeFileSync(path.join(dir, 'config', 'tls.yaml'), configYaml(files, ports));
  const child: ChildProcess = spawn(TEMPORAL_SERVER_BIN, ['--root', dir, '--config', 'config', '--env', 'tls', '--allow-no-auth', 'start'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output = (output + d).slice(-4000)));
  child.stderr!.on('data', (d) => (output = (output + d).slice(-4000)));
  const address = `127.0.0.1:${ports[0]}`;
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const tls = { serverNameOverride: 'localhost', serverRootCACertificate: fs.readFileSync(files.ca), clientCertPair: { crt: fs.readFileSync(files.clientCert), key: fs.readFileSync(files.clientKey) } };
  const until = Date.now() + deadlineMs;
  const retry = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (child.exitCode !== null || Date.now() > until) {
          await stop();
          throw new Error(`Temporal server with TLS: ${what} failed: ${(err as Error).message}\n${output}`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };
  const connection = await retry('connect', () => Connection.connect({ address, tls, connectTimeout: 2000 }));
  try {
    await retry('register the namespace', async () => {
      await connection.workflowService.registerNamespace({ namespace: 'default', workflowExecutionRetentionPeriod: msToTs('1 day') }).catch((err) => {
        if (!/already/i.test(String(err.message))) throw err;
      });
    });
    const keyword = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
    await retry('add the search attributes', async () => {
      await connection.operatorService
        .addSearchAttributes({ namespace: 'default', searchAttributes: Object.fromEntries(searchAttributeKeys.map((k) => [k.name, keyword])) })
        .catch((err) => {
          if (!/already/i.test(String(err.message))) throw err;
        });
    });
    // The namespace is usable once the frontend's namespace cache has it.
    await retry('use the namespace', () => connection.workflowService.listWorkflowExecutions({ namespace: 'default', pageSize: 1 }));
  } finally {
    await connection.close();
  }
  return { address, files, stop };
}
