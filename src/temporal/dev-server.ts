import fs from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ensureTemporalCli } from './cli-binary';
import { searchAttributeKeys } from './search-attributes';

export interface DevServerOptions {
  cliPath?: string;
  /** SQLite file that keeps workflows across restarts; omit for an in-memory server (tests). */
  dbFilename?: string;
  namespace: string;
  port?: number;
  ui?: boolean;
  uiPort?: number;
  log?: (msg: string) => void;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  stop(): Promise<void>;
}

/**
 * Starts the Temporal CLI's dev server as a child process (through the SDK's ephemeral
 * server support) with abono's search attributes registered.
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const cli = await ensureTemporalCli(opts.cliPath, opts.log);
  if (opts.dbFilename) fs.mkdirSync(path.dirname(opts.dbFilename), { recursive: true });
  opts.log?.(cli ? `starting Temporal dev server from ${cli}` : 'starting Temporal dev server (SDK download)');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: cli ? { type: 'existing-path', path: cli } : { type: 'cached-download' },
      ip: '127.0.0.1',
      port: opts.port,
      namespace: opts.namespace,
      dbFilename: opts.dbFilename,
      ui: opts.ui ?? false,
      uiPort: opts.uiPort,
      searchAttributes: searchAttributeKeys,
      log: { format: 'pretty', level: 'warn' },
      // SQLite on a laptop disk: fewer fsyncs; the dev server is not the production store.
      extraArgs: ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal'],
    },
  });
  const address = env.address;
  return {
    address,
    uiUrl: opts.ui ? `http://127.0.0.1:${opts.uiPort ?? 8233}` : undefined,
    stop: () => env.teardown(),
  };
}
