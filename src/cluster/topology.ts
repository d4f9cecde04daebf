import { startClusterProcesses } from './start';

// The production shape on one machine: Temporal's own server on PostgreSQL, its UI, and several
// abono API and worker processes. `npm run cluster` (src/cluster/main.ts), the cluster fault suite
// and the cluster benchmark all start it through startCluster.

export interface ClusterOptions {
  apiCount: number;
  workerCount: number;
  /** Default 3000; API i (0-based) listens on apiBasePort + i. */
  apiBasePort?: number;
  /** Frontend gRPC port, default 7233; the server's other ports are derived or free. */
  temporalPort?: number;
  /** Default 8080 (or a free port when 8080 is taken); false = no UI. */
  uiPort?: number | false;
  /** abono's database; its server also hosts temporal and temporal_visibility. Absent: embedded PostgreSQL under dataDir. */
  databaseUrl?: string;
  /** Default .data/cluster. */
  dataDir?: string;
  /** Extra environment for API and worker processes (LOG_LEVEL, PAYMENT_WAIT_MS, RECALC_CHUNK_SIZE…). */
  env?: Record<string, string>;
  log?: (line: string) => void;
}

export interface ManagedProcess {
  /** 'temporal', 'ui', 'api-1', 'worker-2', 'postgres'. */
  readonly name: string;
  readonly pid: number | undefined;
  /** Default SIGKILL; resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Resolves once ready (API: GET /ready 200; worker: polling; temporal: namespace reachable; postgres: accepts connections). */
  start(): Promise<void>;
  /** kill('SIGTERM') then start(). */
  restart(): Promise<void>;
}

export interface Cluster {
  /** e.g. http://127.0.0.1:3000 (no /v1). */
  apiUrls: string[];
  temporalAddress: string;
  uiUrl?: string;
  /** abono's database. */
  databaseUrl: string;
  /** Set on a fresh database. */
  adminKey?: string;
  temporal: ManagedProcess;
  apis: ManagedProcess[];
  workers: ManagedProcess[];
  /** Only when embedded (the fault suite restarts it). */
  postgres?: ManagedProcess;
  stop(): Promise<void>;
}

export function startCluster(opts: ClusterOptions): Promise<Cluster> {
  return startClusterProcesses(opts);
}
