import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

function onPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, cmd);
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

function goBinDir(go: string): string {
  const r = spawnSync(go, ['env', 'GOBIN', 'GOPATH'], { encoding: 'utf8' });
  const [gobin, gopath] = r.stdout.split('\n');
  return gobin?.trim() || path.join(gopath?.trim() || path.join(os.homedir(), 'go'), 'bin');
}

/**
 * Where the Temporal CLI is: TEMPORAL_CLI_PATH, else `temporal` on PATH, else one that
 * `go install` put in Go's bin folder earlier. Undefined when none exists yet.
 */
export function findTemporalCli(configured?: string): string | undefined {
  if (configured) {
    if (!fs.existsSync(configured)) throw new Error(`TEMPORAL_CLI_PATH: no file at ${configured}`);
    return configured;
  }
  const found = onPath('temporal');
  if (found) return found;
  const go = onPath('go');
  if (go) {
    const cached = path.join(goBinDir(go), 'temporal');
    if (fs.existsSync(cached)) return cached;
  }
  return undefined;
}

/**
 * Installs the CLI with `go install` (cached by Go afterwards). Returns undefined when Go
 * is missing: the caller then falls back to the SDK's own dev-server download.
 */
export async function installTemporalCli(log: (msg: string) => void = console.log): Promise<string | undefined> {
  const go = onPath('go');
  if (!go) return undefined;
  log(`Temporal CLI not found: building ${TEMPORAL_CLI_MODULE} with Go (first time only, takes a few minutes)...`);
  const started = Date.now();
  const ticker = setInterval(() => log(`  still building the Temporal CLI (${Math.round((Date.now() - started) / 1000)}s)...`), 30_000);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(go, ['install', TEMPORAL_CLI_MODULE], { stdio: ['ignore', 'inherit', 'inherit'] });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`go install exited with ${code}`))));
    });
  } finally {
    clearInterval(ticker);
  }
  const bin = path.join(goBinDir(go), 'temporal');
  log(`Temporal CLI built in ${Math.round((Date.now() - started) / 1000)}s: ${bin}`);
  return bin;
}

export async function ensureTemporalCli(configured?: string, log?: (msg: string) => void): Promise<string | undefined> {
  return findTemporalCli(configured) ?? (await installTemporalCli(log));
}
