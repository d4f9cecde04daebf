// Brings the cluster up in dependency order: PostgreSQL, Temporal's schemas and server (with the
// namespace and search attributes), its UI, the first API alone (it migrates, registers the
// schedule and makes the admin key on a fresh database), then the other APIs and the workers.
import path from 'node:path';
import { freePort } from '../observability/metrics';
import { ensureTemporalServer } from '../temporal/server-binary';
import { apiProcess, workerProcess } from './abono-processes';
import type { ManagedChild } from './child';
import { PROJECT_ROOT } from './paths';
import { choosePort, portFree } from './ports';
import { ensureDatabases, startOwnPostgres } from './postgres';
import { localCodecKeySetting } from '../security/codec-keys';
import { setUpTemporalSchemas, temporalPorts, temporalServerProcess, temporalUiProcess } from './temporal';
import type { Cluster, ClusterOptions } from './topology';

const NAMESPACE = 'default';

export interface DatabaseRoles {
  /** What abono's processes connect as. */
  runtimeUrl?: string;
  /** The schema owner: the first API migrates as it. */
  ownerUrl?: string;
}

/** Stops each group in turn, the members of a group together; errors are logged, not thrown. */
async function stopInOrder(groups: ManagedChild[][], log: (line: string) => void): Promise<void> {
  for (const group of groups) {
    await Promise.all(group.map((p) => p.kill('SIGTERM').catch((err) => log(`stopping ${p.name}: ${String(err?.message ?? err)}`))));
  }
}

/** abono's database: the server of opts.databaseUrl, or the cluster's own PostgreSQL (started, and pushed on `started`). */
async function startDatabase(opts: ClusterOptions, dataDir: string, logDir: string, log: (line: string) => void, started: ManagedChild[][]) {
  if (opts.databaseUrl) {
    await ensureDatabases(opts.databaseUrl, [new URL(opts.databaseUrl).pathname.slice(1)]);
    const roles: DatabaseRoles = { runtimeUrl: opts.databaseUrl, ownerUrl: process.env.DATABASE_OWNER_URL || undefined };
    return { databaseUrl: opts.databaseUrl, postgres: undefined, roles };
  }
  const own = await startOwnPostgres(dataDir, await freePort(), logDir, log);
  started.push([own.process]);
  // Security: with the cluster's own PostgreSQL, abono's processes connect as the runtime role (README: Security).
  return { databaseUrl: own.url, postgres: own.process, roles: { runtimeUrl: own.runtimeUrl, ownerUrl: own.url } };
}

/**
 * The environment of abono's processes: production logging, a pool sized for several processes on one
 * PostgreSQL, the runtime role's database URL, one payload key set for all, and where Temporal is.
 * `owner` is the first API's (it migrates as the schema owner); `runtime` every other process's.
 */
export function abonoEnvironment(
  opts: Pick<ClusterOptions, 'env'>,
  where: { databaseUrl: string; roles: DatabaseRoles; dataDir: string; temporalAddress: string; uiUrl?: string },
  base: NodeJS.ProcessEnv = process.env,
): { owner: NodeJS.ProcessEnv; runtime: NodeJS.ProcessEnv } {
  const env: NodeJS.ProcessEnv = {
    ...base,
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    // Four abono processes beside Temporal's pools on one PostgreSQL (README: Running it like production).
    DATABASE_POOL_SIZE: '10',
    ...opts.env,
    DATABASE_URL: where.roles.runtimeUrl ?? where.databaseUrl,
    // Security: every process must read the others' payloads, so all share one key set (README: Security).
    PAYLOAD_CODEC_KEYS: opts.env?.PAYLOAD_CODEC_KEYS ?? (base.PAYLOAD_CODEC_KEYS || localCodecKeySetting(where.dataDir)),
    TEMPORAL_ADDRESS: where.temporalAddress,
    TEMPORAL_NAMESPACE: NAMESPACE,
    ...(where.uiUrl ? { TEMPORAL_UI_URL: where.uiUrl } : {}),
  };
  // Only the first API migrates (as the owner, then grants the runtime role); the others never hold the owner's password.
  const { DATABASE_OWNER_URL: _owner, ...runtime } = env;
  return { owner: where.roles.ownerUrl ? { ...runtime, DATABASE_OWNER_URL: where.roles.ownerUrl } : runtime, runtime };
}

export async function startClusterProcesses(opts: ClusterOptions): Promise<Cluster> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const dataDir = path.resolve(PROJECT_ROOT, opts.dataDir ?? '.data/cluster');
  const logDir = path.join(dataDir, 'logs');
  const started: ManagedChild[][] = [];
  try {
    const binaries = await ensureTemporalServer(log, { ui: opts.uiPort !== false });
    const { databaseUrl, postgres, roles } = await startDatabase(opts, dataDir, logDir, log, started);

    await setUpTemporalSchemas(binaries.sqlTool, databaseUrl, log);
    const ports = await temporalPorts(await choosePort('Temporal', opts.temporalPort, 7233));
    const temporalAddress = `127.0.0.1:${ports.frontend}`;
    const temporal = temporalServerProcess({ binaries, databaseUrl, ports, namespace: NAMESPACE, logDir, log });
    await temporal.start();
    started.push([temporal]);

    let uiUrl: string | undefined;
    if (opts.uiPort !== false && binaries.uiServer) {
      const uiPort = await choosePort('Temporal UI', opts.uiPort, 8080);
      const ui = temporalUiProcess(binaries.uiServer, uiPort, temporalAddress, NAMESPACE, logDir, log);
      await ui.start();
      started.push([ui]);
      uiUrl = `http://127.0.0.1:${uiPort}`;
    }

    const env = abonoEnvironment(opts, { databaseUrl, roles, dataDir, temporalAddress, uiUrl });
    const base = opts.apiBasePort ?? 3000;
    const apiPorts = Array.from({ length: opts.apiCount }, (_, i) => base + i);
    for (const port of apiPorts) if (!(await portFree(port))) throw new Error(`API: port ${port} is in use`);

    let adminKey: string | undefined;
    const apis = apiPorts.map((port, i) => apiProcess({ index: i + 1, port, env: i === 0 ? env.owner : env.runtime, logDir, log, onAdminKey: (key) => (adminKey ??= key) }));
    const workers: ManagedChild[] = [];
    for (let i = 0; i < opts.workerCount; i++) workers.push(workerProcess({ index: i + 1, metricsPort: await freePort(), env: env.runtime, logDir, log }));
    const abono = [...apis, ...workers];
    started.push(abono);
    const [first, ...rest] = abono;
    if (first) await first.start();
    await Promise.all(rest.map((p) => p.start()));

    const stopGroups = [...started].reverse();
    let stopping: Promise<void> | undefined;
    return {
      apiUrls: apiPorts.map((port) => `http://127.0.0.1:${port}`),
      temporalAddress,
      uiUrl,
      databaseUrl,
      adminKey,
      temporal,
      apis,
      workers,
      postgres,
      stop: () => (stopping ??= stopInOrder(stopGroups, log)),
    };
  } catch (err) {
    await stopInOrder([...started].reverse(), log);
    throw err;
  }
}
