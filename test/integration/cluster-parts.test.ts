// The parts `npm run cluster` is built from, run in this process (the cluster suite runs the whole
// of it, in child processes): its command line, ports, databases, the environment abono's processes
// get, and the supervision of a child process (a tiny real one: node with a few lines of script).
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { clusterOptionsFrom, maskPassword, UsageError } from '../../src/cluster/args';
import { apiProcess, workerProcess } from '../../src/cluster/abono-processes';
import { ManagedChild, waitFor } from '../../src/cluster/child';
import { PROJECT_ROOT } from '../../src/cluster/paths';
import { choosePort, freePortFrom, portFree } from '../../src/cluster/ports';
import { databaseUrlFor, ensureDatabases } from '../../src/cluster/postgres';
import { abonoEnvironment } from '../../src/cluster/start';

const ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'abono-cluster-parts-'));

function listen(): Promise<net.Server> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}
const portOf = (srv: net.Server) => (srv.address() as net.AddressInfo).port;
const close = (srv: net.Server) => new Promise<void>((resolve) => srv.close(() => resolve()));

describe('npm run cluster: the command line', () => {
  it('defaults to two APIs and two workers, on an embedded PostgreSQL unless DATABASE_URL names one', () => {
    expect(clusterOptionsFrom([], {})).toEqual({ apiCount: 2, workerCount: 2, apiBasePort: undefined, temporalPort: undefined, uiPort: undefined, databaseUrl: undefined, dataDir: undefined });
    expect(clusterOptionsFrom([], { DATABASE_URL: 'postgres://a@h/db' }).databaseUrl).toBe('postgres://a@h/db');
  });

  it('reads every option', () => {
    const o = clusterOptionsFrom(['--api', '3', '--workers', '1', '--api-port', '4000', '--temporal-port', '7300', '--no-ui', '--data-dir', 'x/y'], {});
    expect(o).toMatchObject({ apiCount: 3, workerCount: 1, apiBasePort: 4000, temporalPort: 7300, uiPort: false, dataDir: 'x/y' });
    expect(clusterOptionsFrom(['--ui-port', '8099'], {}).uiPort).toBe(8099);
  });

  it.each([
    [['--api', '0'], '--api must be a whole number from 1 to 32, not "0"'],
    [['--workers', '2.5'], '--workers must be a whole number from 1 to 32, not "2.5"'],
    [['--api', '33'], '--api must be a whole number from 1 to 32, not "33"'],
    [['--api-port', '70000'], '--api-port must be a port number, not "70000"'],
    [['--ui-port', 'eighty'], '--ui-port must be a port number, not "eighty"'],
  ])('refuses %j, naming the flag and the value', (argv, message) => {
    expect(() => clusterOptionsFrom(argv, {})).toThrow(new UsageError(message));
  });

  it('refuses an unknown flag as a usage error', () => {
    expect(() => clusterOptionsFrom(['--apis', '2'], {})).toThrow(UsageError);
    expect(() => clusterOptionsFrom(['--apis', '2'], {})).toThrow(/--apis/);
  });

  it('prints the database URL without its password', () => {
    expect(maskPassword('postgres://abono:s3cr%40t@127.0.0.1:5432/abono')).toBe('postgres://abono:***@127.0.0.1:5432/abono');
    expect(maskPassword('postgres://abono@127.0.0.1/abono')).toBe('postgres://abono@127.0.0.1/abono');
  });

  it('finds the repository root, where package.json and deploy/ are', () => {
    expect(JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).name).toBe('abono');
    expect(fs.existsSync(path.join(PROJECT_ROOT, 'deploy/temporal'))).toBe(true);
  });
});

describe('the cluster ports', () => {
  it('sees a port another process listens on as taken, and a closed one as free', async () => {
    const srv = await listen();
    const port = portOf(srv);
    expect(await portFree(port)).toBe(false);
    await close(srv);
    expect(await portFree(port)).toBe(true);
  });

  it('skips ports in use and ports already handed out', async () => {
    const srv = await listen();
    const busy = portOf(srv);
    try {
      const next = await freePortFrom(busy, new Set([busy + 1]));
      expect(next).toBeGreaterThan(busy + 1);
      expect(await portFree(next)).toBe(true);
    } finally {
      await close(srv);
    }
  });

  it('gives a taken default port way to a free one, but refuses a taken port asked for', async () => {
    const srv = await listen();
    const busy = portOf(srv);
    try {
      await expect(choosePort('Temporal UI', busy, 8080)).rejects.toThrow(`Temporal UI: port ${busy} is in use`);
      const chosen = await choosePort('Temporal UI', undefined, busy);
      expect(chosen).not.toBe(busy);
      expect(await portFree(chosen)).toBe(true);
    } finally {
      await close(srv);
    }
  });
});

describe("the cluster's databases", () => {
  const name = `abono_cluster_parts_${process.pid}`;
  afterAll(async () => {
    const admin = new Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });

  it('names another database on the same server, keeping user and password', () => {
    expect(databaseUrlFor('postgres://u:p%40ss@db.local:6543/abono?sslmode=require', 'temporal')).toBe('postgres://u:p%40ss@db.local:6543/temporal?sslmode=require');
  });

  it('creates the databases that are missing, once', async () => {
    expect(await ensureDatabases(ADMIN_URL, [name, 'postgres'])).toEqual([name]);
    expect(await ensureDatabases(ADMIN_URL, [name])).toEqual([]);
    const client = new Client({ connectionString: databaseUrlFor(ADMIN_URL, name) });
    await client.connect();
    expect((await client.query('SELECT current_database() AS db')).rows[0].db).toBe(name);
    await client.end();
  });
});

describe("the environment of the cluster's abono processes", () => {
  const where = (dataDir: string, uiUrl?: string) => ({
    databaseUrl: 'postgres://abono:owner@127.0.0.1:5999/abono',
    roles: { runtimeUrl: 'postgres://abono_app:rt@127.0.0.1:5999/abono', ownerUrl: 'postgres://abono:owner@127.0.0.1:5999/abono' },
    dataDir,
    temporalAddress: '127.0.0.1:7300',
    uiUrl,
  });

  it('connects every process as the runtime role; only the first API gets the owner to migrate with', () => {
    const dir = tmpDir();
    const env = abonoEnvironment({}, where(dir, 'http://127.0.0.1:8080'), { PATH: '/bin', DATABASE_OWNER_URL: 'postgres://stale@x/y' });
    expect(env.runtime.DATABASE_URL).toBe('postgres://abono_app:rt@127.0.0.1:5999/abono');
    expect(env.owner.DATABASE_URL).toBe('postgres://abono_app:rt@127.0.0.1:5999/abono');
    expect(env.runtime.DATABASE_OWNER_URL).toBeUndefined();
    expect(env.owner.DATABASE_OWNER_URL).toBe('postgres://abono:owner@127.0.0.1:5999/abono');
    expect(env.runtime).toMatchObject({ PATH: '/bin', NODE_ENV: 'production', TEMPORAL_ADDRESS: '127.0.0.1:7300', TEMPORAL_NAMESPACE: 'default', TEMPORAL_UI_URL: 'http://127.0.0.1:8080' });
  });

  it('shares one payload key set, made once in the data folder, unless one is given', () => {
    const dir = tmpDir();
    const first = abonoEnvironment({}, where(dir), {});
    const again = abonoEnvironment({}, where(dir), {});
    expect(first.runtime.PAYLOAD_CODEC_KEYS).toMatch(/^local-[a-z0-9]+:[A-Za-z0-9+/]{43}=$/);
    expect(again.owner.PAYLOAD_CODEC_KEYS).toBe(first.runtime.PAYLOAD_CODEC_KEYS);
    expect(fs.statSync(path.join(dir, 'payload-codec-keys')).mode & 0o777).toBe(0o600);
    expect(abonoEnvironment({}, where(dir), { PAYLOAD_CODEC_KEYS: 'from-env' }).runtime.PAYLOAD_CODEC_KEYS).toBe('from-env');
    expect(abonoEnvironment({ env: { PAYLOAD_CODEC_KEYS: 'asked', LOG_LEVEL: 'debug' } }, where(dir), { PAYLOAD_CODEC_KEYS: 'from-env' }).runtime).toMatchObject({ PAYLOAD_CODEC_KEYS: 'asked', LOG_LEVEL: 'debug' });
  });

  it('sets no Temporal UI link without a UI, and uses the database URL when no runtime role is separate', () => {
    const env = abonoEnvironment({}, { ...where(tmpDir()), roles: { runtimeUrl: undefined, ownerUrl: undefined } }, {});
    expect(env.runtime.TEMPORAL_UI_URL).toBeUndefined();
    expect(env.runtime.DATABASE_URL).toBe('postgres://abono:owner@127.0.0.1:5999/abono');
    expect(env.owner.DATABASE_OWNER_URL).toBeUndefined();
  });
});

describe('a managed child process', () => {
  /** A node process that runs `script`; ready when `readyFile` exists. */
  function nodeChild(script: string, opts: { readyTimeoutMs?: number; termSignal?: NodeJS.Signals; logs?: string[]; lines?: string[] } = {}) {
    const dir = tmpDir();
    const readyFile = path.join(dir, 'ready');
    const child = new ManagedChild({
      name: 'tiny',
      command: process.execPath,
      args: ['-e', script, readyFile],
      env: { PATH: process.env.PATH },
      logFile: path.join(dir, 'logs', 'tiny.log'),
      ready: async () => fs.existsSync(readyFile),
      readyTimeoutMs: opts.readyTimeoutMs ?? 60_000,
      termSignal: opts.termSignal,
      onLine: (line) => opts.lines?.push(line),
      log: (line) => opts.logs?.push(line),
    });
    return { child, dir, readyFile };
  }
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const READY_THEN_WAIT = `console.log('hello from the child'); require('fs').writeFileSync(process.argv[1], ''); setInterval(() => {}, 1000);`;

  it('starts, is ready when its check says so, keeps its output in the log file, and stops on SIGTERM', async () => {
    const lines: string[] = [];
    const { child, dir } = nodeChild(READY_THEN_WAIT, { lines });
    await child.start();
    const pid = child.pid!;
    expect(child.running).toBe(true);
    expect(alive(pid)).toBe(true);
    await expect(child.start()).rejects.toThrow(`tiny is already running (pid ${pid})`);
    await child.kill('SIGTERM');
    await child.whenExited();
    expect(child.running).toBe(false);
    expect(alive(pid)).toBe(false);
    expect(lines).toContain('hello from the child');
    expect(fs.readFileSync(path.join(dir, 'logs', 'tiny.log'), 'utf8')).toContain('hello from the child');
    await child.kill(); // nothing runs: nothing to do
  });

  it('restarts as a new process', async () => {
    const { child, readyFile } = nodeChild(READY_THEN_WAIT);
    await child.start();
    const before = child.pid!;
    fs.rmSync(readyFile);
    await child.restart();
    expect(child.pid).not.toBe(before);
    expect(alive(before)).toBe(false);
    await child.kill();
    expect(child.running).toBe(false);
  });

  it('fails to start when the process exits first, quoting its last lines', async () => {
    const { child } = nodeChild(`console.error('cannot open the database'); process.exit(3);`);
    await expect(child.start()).rejects.toThrow(/tiny \(pid \d+\): exited \(code 3\); last lines:\ncannot open the database/);
    expect(child.running).toBe(false);
  });

  it('fails to start when the program does not exist', async () => {
    const dir = tmpDir();
    const child = new ManagedChild({ name: 'ghost', command: path.join(dir, 'no-such-program'), args: [], env: {}, logFile: path.join(dir, 'ghost.log'), ready: async () => false, readyTimeoutMs: 30_000, log: () => undefined });
    await expect(child.start()).rejects.toThrow(/ghost \(pid undefined\): could not start: spawn .* ENOENT/);
  });

  it('kills a process that is not ready in time', async () => {
    const { child } = nodeChild(`setInterval(() => {}, 1000);`, { readyTimeoutMs: 1500 });
    const started = child.start();
    await expect(started).rejects.toThrow(/tiny \(pid \d+\): not ready after 2 s/);
    expect(child.running).toBe(false);
  });

  it('says so when a ready process exits on its own', async () => {
    const logs: string[] = [];
    // Exits once the test, having seen it ready, writes the file "stop" beside the ready file.
    const script = `const fs = require('fs'); fs.writeFileSync(process.argv[1], ''); setInterval(() => fs.existsSync(process.argv[1] + '.stop') && process.exit(4), 50);`;
    const { child, dir, readyFile } = nodeChild(script, { logs });
    await child.start();
    fs.writeFileSync(`${readyFile}.stop`, '');
    await child.whenExited();
    expect(child.running).toBe(false);
    expect(logs).toEqual([`tiny exited (code 4) on its own; its log: ${path.join(dir, 'logs', 'tiny.log')}`]);
  });

  it("sends the program's own stop signal for SIGTERM", async () => {
    // Ignores SIGTERM (as PostgreSQL's slow shutdown would keep it waiting); stops on SIGINT.
    const script = `process.on('SIGTERM', () => {}); process.on('SIGINT', () => process.exit(0)); require('fs').writeFileSync(process.argv[1], ''); setInterval(() => {}, 1000);`;
    const logs: string[] = [];
    const { child } = nodeChild(script, { termSignal: 'SIGINT', logs });
    await child.start();
    await child.kill('SIGTERM');
    expect(child.running).toBe(false);
    expect(logs).toEqual([]); // stopped by the signal, not killed after the grace period
  });

  it('waits for a condition until its deadline, or stops when told why', async () => {
    let calls = 0;
    await waitFor('third time', async () => ++calls >= 3, 30_000, undefined, 10);
    expect(calls).toBe(3);
    await expect(waitFor('never', async () => false, 30_000, () => 'the process exited')).rejects.toThrow('never: the process exited');
    await expect(waitFor('a failing check', async () => Promise.reject(new Error('refused')), 50, undefined, 10)).rejects.toThrow('a failing check: not ready after 0 s');
  });

  it("runs abono's API from its sources, and reports a bad configuration as its exit", async () => {
    const dir = tmpDir();
    const keys: string[] = [];
    const api = apiProcess({ index: 1, port: 1, env: { PATH: process.env.PATH, DATABASE_URL: 'not a url' }, logDir: dir, log: () => undefined, onAdminKey: (k) => keys.push(k) });
    expect(api.name).toBe('api-1');
    await expect(api.start()).rejects.toThrow(/api-1 \(pid \d+\): exited \(code \d+\); last lines:/);
    expect(fs.readFileSync(path.join(dir, 'api-1.log'), 'utf8')).toMatch(/DATABASE_URL/);
    expect(keys).toEqual([]);
    expect(workerProcess({ index: 2, metricsPort: 1, env: {}, logDir: dir, log: () => undefined }).name).toBe('worker-2');
  }, 120_000);
});
