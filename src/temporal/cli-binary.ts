import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

export function onPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, cmd);
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function goBinDir(go: string): string {
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
 * `go install`s the given modules (Go caches the build; later runs are quick) into binDir
 * (default: Go's bin folder), logging progress every 30 s. Returns binDir.
 */
export async function goInstall(go: string, modules: string[], what: string, log: (msg: string) => void, binDir?: string): Promise<string> {
  log(`${what} not found: building ${modules.join(' ')} with Go (first time only, takes a few minutes)...`);
  const started = Date.now();
  const ticker = setInterval(() => log(`  still building ${what} (${Math.round((Date.now() - started) / 1000)}s)...`), 30_000);
  try {
    await new Promise<void>((resolve, reject) => {
      const env = binDir ? { ...process.env, GOBIN: binDir } : process.env;
      const child = spawn(go, ['install', ...modules], { stdio: ['ignore', 'inherit', 'inherit'], env });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`go install exited with ${code}`))));
    });
  } finally {
    clearInterval(ticker);
  }
  log(`${what} built in ${Math.round((Date.now() - started) / 1000)}s`);
  return binDir ?? goBinDir(go);
}

/**
 * Installs the CLI with `go install` (cached by Go afterwards). Returns undefined when Go
 * is missing: the caller then falls back to the SDK's own dev-server download.
 */
export async function installTemporalCli(log: (msg: string) => void = console.log): Promise<string | undefined> {
  const go = onPath('go');
  if (!go) return undefined;
  const bin = path.join(await goInstall(go, [TEMPORAL_CLI_MODULE], 'Temporal CLI', log), 'temporal');
  log(`Temporal CLI: ${bin}`);
  return bin;
}

export async function ensureTemporalCli(configured?: string, log?: (msg: string) => void): Promise<string | undefined> {
  return findTemporalCli(configured) ?? (await installTemporalCli(log));
}
