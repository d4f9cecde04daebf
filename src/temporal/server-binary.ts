// Temporal's own server, its schema tool and its UI server, built from the Go module proxy the
// way the CLI is (src/temporal/cli-binary.ts) and cached in Go's bin folder.
import fs from 'node:fs';
import path from 'node:path';
import { goBinDir, goInstall, onPath } from './cli-binary';

/** The server version the CLI 1.5.1 embeds; both commands build with no replace directive. */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
export const TEMPORAL_SERVER_MODULES = [
  `go.temporal.io/server/cmd/server@${TEMPORAL_SERVER_VERSION}`,
  `go.temporal.io/server/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`,
];
/** The UI server the CLI 1.5.1 serves its UI with (its go.mod). */
export const TEMPORAL_UI_SERVER_MODULE = 'github.com/temporalio/ui-server/v2/cmd/server@v2.42.1';
/** The UI's command is also called `server`: it goes into its own folder under Go's bin folder. */
const UI_BIN_SUBDIR = 'temporal-ui-server';

export interface TemporalServerBinaries {
  /** `temporal-server`: the frontend, history, matching and worker services in one process. */
  server: string;
  /** `temporal-sql-tool`: creates the databases and sets up / upgrades their schemas. */
  sqlTool: string;
  /** The Temporal UI's web server; undefined when it could not be built. */
  uiServer?: string;
}

const existing = (file: string) => (fs.existsSync(file) ? file : undefined);

function goOrThrow(): string {
  const go = onPath('go');
  if (!go) throw new Error("Temporal's server is built with Go, and no `go` is on PATH");
  return go;
}

/** What is already built (TEMPORAL_SERVER_PATH / TEMPORAL_SQL_TOOL_PATH / TEMPORAL_UI_SERVER_PATH, else Go's bin folder). */
export function findTemporalServer(env: NodeJS.ProcessEnv = process.env): Partial<TemporalServerBinaries> {
  const go = onPath('go');
  const bin = go ? goBinDir(go) : undefined;
  const pick = (configured: string | undefined, file: string | undefined) => {
    if (configured && !fs.existsSync(configured)) throw new Error(`no file at ${configured}`);
    return configured || (file ? existing(file) : undefined);
  };
  return {
    server: pick(env.TEMPORAL_SERVER_PATH, bin && path.join(bin, 'server')),
    sqlTool: pick(env.TEMPORAL_SQL_TOOL_PATH, bin && path.join(bin, 'sql')),
    uiServer: pick(env.TEMPORAL_UI_SERVER_PATH, bin && path.join(bin, UI_BIN_SUBDIR, 'server')),
  };
}

/**
 * Finds or builds the server and its schema tool (required), then the UI server (optional:
 * a failed UI build is logged and the topology runs without a UI).
 */
export async function ensureTemporalServer(log: (msg: string) => void = console.log, opts: { ui?: boolean } = {}): Promise<TemporalServerBinaries> {
  let found = findTemporalServer();
  if (!found.server || !found.sqlTool) {
    await goInstall(goOrThrow(), TEMPORAL_SERVER_MODULES, "Temporal's server and schema tool", log);
    found = findTemporalServer();
  }
  if (!found.uiServer && opts.ui !== false) {
    const go = goOrThrow();
    try {
      await goInstall(go, [TEMPORAL_UI_SERVER_MODULE], 'the Temporal UI server', log, path.join(goBinDir(go), UI_BIN_SUBDIR));
      found = findTemporalServer();
    } catch (err) {
      log(`the Temporal UI server did not build (${String((err as Error).message ?? err)}): running without a UI`);
    }
  }
  const { server, sqlTool, uiServer } = found;
  if (!server || !sqlTool) throw new Error("Temporal's server is no longer in Go's bin folder");
  return { server, sqlTool, uiServer };
}
