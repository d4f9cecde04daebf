// Temporal's own server on the cluster's PostgreSQL: databases and schemas (the schema tool,
// idempotently), the server process with deploy/temporal's config, the namespace and abono's
// search attributes, and the UI server when it was built.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { searchAttributeKeys } from '../temporal/search-attributes';
import type { TemporalServerBinaries } from '../temporal/server-binary';
import { ManagedChild } from './child';
import { PROJECT_ROOT } from './paths';
import { freePortFrom } from './ports';
import { ensureDatabases, TEMPORAL_DATABASES } from './postgres';

/** The files docker-compose.yml mounts too (test/integration/compose.test.ts checks it). */
export const TEMPORAL_CONFIG_DIR = path.join(PROJECT_ROOT, 'deploy/temporal');
export const TEMPORAL_CONFIG_ENV = 'production'; // deploy/temporal/production.yaml
export const TEMPORAL_DYNAMIC_CONFIG_FILE = path.join(TEMPORAL_CONFIG_DIR, 'dynamic-config.yaml');
export const TEMPORAL_UI_CONFIG_DIR = path.join(PROJECT_ROOT, 'deploy/temporal-ui');

/** Where Temporal keeps its data: the server and user of the cluster's DATABASE_URL. */
export function temporalDbEnv(databaseUrl: string): Record<string, string> {
  const u = new URL(databaseUrl);
  return {
    TEMPORAL_DB_HOST: u.hostname,
    TEMPORAL_DB_PORT: u.port || '5432',
    TEMPORAL_DB_USER: decodeURIComponent(u.username),
    TEMPORAL_DB_PASSWORD: decodeURIComponent(u.password),
  };
}

/**
 * Creates Temporal's two databases when missing, then sets each schema up (a no-op once it is
 * versioned) and upgrades it to the version this server ships: safe on every start.
 */
export async function setUpTemporalSchemas(sqlTool: string, databaseUrl: string, log: (line: string) => void): Promise<void> {
  const created = await ensureDatabases(databaseUrl, TEMPORAL_DATABASES);
  if (created.length) log(`created databases ${created.join(', ')}`);
  const db = temporalDbEnv(databaseUrl);
  const run = promisify(execFile);
  for (const [database, schema] of [['temporal', 'postgresql/v12/temporal'], ['temporal_visibility', 'postgresql/v12/visibility']]) {
    // The password goes through the environment, not the command line (ps shows that).
    const env = { ...process.env, SQL_PLUGIN: 'postgres12', SQL_HOST: db.TEMPORAL_DB_HOST, SQL_PORT: db.TEMPORAL_DB_PORT, SQL_USER: db.TEMPORAL_DB_USER, SQL_PASSWORD: db.TEMPORAL_DB_PASSWORD, SQL_DATABASE: database };
    await run(sqlTool, ['setup-schema', '-v', '0.0'], { env });
    // The schema files are embedded in the tool: the same ones as the server module's schema/ folder.
    await run(sqlTool, ['update-schema', '--schema-name', schema], { env });
  }
}

export interface TemporalPorts {
  frontend: number;
  env: Record<string, string>;
}

/**
 * The frontend on `frontendPort`, the other services beside it as in Temporal's own defaults
 * (7233: history 7234, matching 7235, worker 7239, HTTP 7243, membership 6933-6939), each moved
 * up to the next free port when taken. Membership ports are stored as a PostgreSQL smallint,
 * so they stay below 32768.
 */
export async function temporalPorts(frontendPort: number): Promise<TemporalPorts> {
  // Below 32768 whatever the frontend's port, and a different range for a different frontend,
  // so that two clusters starting at once do not reach for the same membership ports.
  const membershipBase = frontendPort - 300 >= 1024 && frontendPort - 300 < 32760 ? frontendPort - 300 : 6000 + ((frontendPort - 300) % 26000);
  const layout: Array<[string, number]> = [
    ['HISTORY', frontendPort + 1],
    ['MATCHING', frontendPort + 2],
    ['WORKER', frontendPort + 6],
    ['FRONTEND_HTTP', frontendPort + 10],
    ['FRONTEND_MEMBERSHIP', membershipBase],
    ['HISTORY_MEMBERSHIP', membershipBase + 1],
    ['MATCHING_MEMBERSHIP', membershipBase + 2],
    ['WORKER_MEMBERSHIP', membershipBase + 6],
  ];
  const taken = new Set([frontendPort]);
  const env: Record<string, string> = { TEMPORAL_FRONTEND_PORT: String(frontendPort) };
  for (const [name, wanted] of layout) {
    const port = await freePortFrom(wanted, taken);
    taken.add(port);
    env[`TEMPORAL_${name}_PORT`] = String(port);
  }
  return { frontend: frontendPort, env };
}

/** Registers the namespace when missing (one day's retention: abono keeps its own records). */
async function ensureNamespace(connection: Connection, namespace: string): Promise<void> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch {
    await connection.workflowService
      .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') })
      .catch((err: { code?: number }) => {
        if (err.code !== 6) throw err; // ALREADY_EXISTS: registered meanwhile
      });
  }
}

/** Registers abono's search attributes, skipping those already there. */
async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = searchAttributeKeys.filter((k) => !(k.name in (customAttributes ?? {})));
  if (!missing.length) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((k) => [k.name, 2 /* INDEXED_VALUE_TYPE_KEYWORD */])),
  });
}

/** The frontend caches namespaces and their attributes: a query naming them all succeeds once it sees them. */
async function searchAttributesVisible(connection: Connection, namespace: string): Promise<void> {
  const query = searchAttributeKeys.map((k) => `${k.name} = 'ready'`).join(' AND ');
  await connection.workflowService.listWorkflowExecutions({ namespace, query, pageSize: 1 });
}

export interface TemporalServerOptions {
  binaries: TemporalServerBinaries;
  databaseUrl: string;
  ports: TemporalPorts;
  namespace: string;
  logDir: string;
  log: (line: string) => void;
}

/**
 * The server process. Ready once the namespace answers; the first start also registers the
 * namespace and the search attributes (later starts find them).
 */
export function temporalServerProcess(opts: TemporalServerOptions): ManagedChild {
  const address = `127.0.0.1:${opts.ports.frontend}`;
  let registered = false;
  return new ManagedChild({
    name: 'temporal',
    command: opts.binaries.server,
    args: ['--root', '/', '--config', TEMPORAL_CONFIG_DIR, '--env', TEMPORAL_CONFIG_ENV, '--allow-no-auth', 'start'],
    // TEMPORAL_DYNAMIC_CONFIG_FILE from the environment wins: a tuning run can try another file.
    env: { TEMPORAL_DYNAMIC_CONFIG_FILE, ...process.env, ...temporalDbEnv(opts.databaseUrl), ...opts.ports.env },
    logFile: path.join(opts.logDir, 'temporal.log'),
    readyTimeoutMs: 120_000,
    log: opts.log,
    ready: async () => {
      const connection = await Connection.connect({ address, connectTimeout: 2000 });
      try {
        if (!registered) {
          await ensureNamespace(connection, opts.namespace);
          await ensureSearchAttributes(connection, opts.namespace);
          registered = true;
        }
        await connection.workflowService.describeNamespace({ namespace: opts.namespace });
        await searchAttributesVisible(connection, opts.namespace);
        return true;
      } finally {
        await connection.close();
      }
    },
  });
}

/** The Temporal UI server, configured by deploy/temporal-ui from the environment. */
export function temporalUiProcess(uiServer: string, port: number, temporalAddress: string, namespace: string, logDir: string, log: (line: string) => void): ManagedChild {
  return new ManagedChild({
    name: 'ui',
    command: uiServer,
    args: ['--root', '/', '--config', TEMPORAL_UI_CONFIG_DIR, '--env', TEMPORAL_CONFIG_ENV, 'start'],
    env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress, TEMPORAL_UI_PORT: String(port), TEMPORAL_DEFAULT_NAMESPACE: namespace },
    logFile: path.join(logDir, 'ui.log'),
    readyTimeoutMs: 30_000,
    log,
    ready: async () => (await fetch(`http://127.0.0.1:${port}/`)).ok,
  });
}
