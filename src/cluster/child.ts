// One child process of the cluster: started in its own process group (so a terminal's Ctrl-C
// reaches the cluster, which stops the children in order), its output kept in a log file, and
// "ready" decided by a check the caller gives. Every live child is SIGKILLed if this process
// exits without stopping it, so none is left behind.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { ManagedProcess } from './topology';

export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run as this user (PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
  logFile: string;
  /** Polled until true (or the process exits, or readyTimeoutMs passes). */
  ready: () => Promise<boolean>;
  readyTimeoutMs: number;
  /** Every line the process writes (stdout and stderr). */
  onLine?: (line: string) => void;
  /** What kill('SIGTERM') sends instead, for a program whose SIGTERM means something else. */
  termSignal?: NodeJS.Signals;
  log: (line: string) => void;
}

/** Longer than a worker's 10 s activity drain (src/worker/worker.ts). */
const STOP_GRACE_MS = 30_000;
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) killGroup(child, 'SIGKILL');
  });
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every intervalMs until it is true; throws `what` after timeoutMs or when `abort` says so. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, abort?: () => string | undefined, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = abort?.();
    if (reason) throw new Error(`${what}: ${reason}`);
    // One check that hangs (a port that accepts but never answers) must not outlast the deadline.
    const timedOut = sleep(Math.min(10_000, Math.max(1000, deadline - Date.now()))).then(() => false);
    if (await Promise.race([check().catch(() => false), timedOut])) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${Math.round(timeoutMs / 1000)} s`);
    await sleep(intervalMs);
  }
}

export class ManagedChild implements ManagedProcess {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private recent: string[] = [];
  private killing?: ChildProcess;
  private ready = false;

  constructor(private readonly spec: ChildSpec) {}

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error(`${this.name} is already running (pid ${this.child.pid})`);
    installExitHook();
    const { spec } = this;
    fs.mkdirSync(path.dirname(spec.logFile), { recursive: true });
    const out = fs.createWriteStream(spec.logFile, { flags: 'a' });
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      uid: spec.uid,
      gid: spec.gid,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    live.add(child);
    this.recent = [];
    this.ready = false;
    let exitNote: string | undefined;
    this.exited = new Promise<void>((resolve) => {
      child.once('error', (err) => (exitNote = `could not start: ${err.message}`));
      child.once('close', (code, signal) => {
        exitNote ??= `exited (${signal ?? `code ${code}`})`;
        if (this.ready && this.killing !== child) spec.log(`${this.name} ${exitNote} on its own; its log: ${spec.logFile}`);
        live.delete(child);
        out.end();
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.pipe(out, { end: false });
      readline.createInterface({ input: stream }).on('line', (line) => {
        this.recent.push(line);
        if (this.recent.length > 20) this.recent.shift();
        spec.onLine?.(line);
      });
    }
    try {
      await waitFor(`${this.name} (pid ${child.pid})`, spec.ready, spec.readyTimeoutMs, () => exitNote && `${exitNote}; last lines:\n${this.recent.join('\n')}\n(log: ${spec.logFile})`);
    } catch (err) {
      await this.kill('SIGKILL');
      throw err;
    }
    this.ready = true;
  }

  /** Default SIGKILL, to the whole process group; other signals go to the process itself. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined) return;
    const pid = child.pid;
    this.killing = child;
    if (signal === 'SIGKILL') killGroup(child, signal);
    else child.kill(signal === 'SIGTERM' ? (this.spec.termSignal ?? signal) : signal);
    // A process that does not stop on its own in time is killed.
    const stopped = await Promise.race([this.exited!.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
    if (!stopped) {
      this.spec.log(`${this.name} did not stop within ${STOP_GRACE_MS / 1000} s of ${signal}: killing it`);
      killGroup(child, 'SIGKILL');
      await this.exited;
    }
    // What the process started (PostgreSQL's backends) goes too, or a restart would find it.
    await waitFor(`${this.name}'s process group`, async () => !groupAlive(pid), 10_000).catch(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    });
  }

  async restart(): Promise<void> {
    await this.kill('SIGTERM');
    await this.start();
  }

  /** Resolves when the current process exits (immediately when none runs). */
  whenExited(): Promise<void> {
    return this.exited ?? Promise.resolve();
  }

  get running(): boolean {
    return this.child !== undefined;
  }
}
