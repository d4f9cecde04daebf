// docker-compose.yml cannot run here (no Docker engine), so it is checked against the app:
// what the api and worker services set must be what loadConfig accepts, the addresses must
// point at the services that serve them, and the setup must register the search attributes
// the workflows use. The CLI and the split entry points run for real as child processes.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import YAML from 'yaml';
import { ConfigError, loadConfig } from '../../src/config';
import { hashApiKey } from '../../src/db/api-keys';
import { TEMPORAL_DATABASES } from '../../src/cluster/postgres';
import { TEMPORAL_CONFIG_DIR, TEMPORAL_CONFIG_ENV, TEMPORAL_DYNAMIC_CONFIG_FILE, temporalDbEnv, temporalPorts } from '../../src/cluster/temporal';
import { searchAttributeArgs, searchAttributeKeys } from '../../src/temporal/search-attributes';
import { WORKER_MALLOC_ARENAS, workerEnvironment, workerNodeArgs } from '../../src/worker/memory';

const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

type Env = Record<string, string>;
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: Array<string | number | { target: number; published?: string | number }>;
  volumes?: Array<string | { type?: string; source?: string; target: string }>;
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test: string | string[] };
}

const compose = YAML.parse(read('docker-compose.yml')) as { services: Record<string, Service> };
const services = compose.services;
/** What `${VAR:?message}` (a variable the operator must set) becomes here. */
const DUMMY = 'x'.repeat(40);
/** Required variables with a format of their own: a valid sample. */
const SAMPLES: Record<string, string> = { PAYLOAD_CODEC_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}` };

/** Compose's interpolation, as far as this file uses it: `$$`, `${V:?m}`, `${V?m}`, `${V:-d}`, `${V-d}`. */
function interpolate(value: string): string {
  return value.replace(/\$\$|\$\{([A-Za-z_]\w*)(?:(:?[?-])([^}]*))?\}|\$([A-Za-z_]\w*)/g, (all, name, op, arg, bare) => {
    if (all === '$$') return '$';
    if (op === ':?' || op === '?') return SAMPLES[name] ?? DUMMY;
    if (op === ':-' || op === '-') return arg;
    throw new Error(`${name ?? bare} is interpolated without a default or a required marker: ${all}`);
  });
}

function environmentOf(name: string): Env {
  const env = services[name]?.environment ?? {};
  const pairs: Array<[string, string]> = Array.isArray(env)
    ? env.map((line) => {
        const i = line.indexOf('=');
        return [line.slice(0, i), line.slice(i + 1)];
      })
    : Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]);
  return Object.fromEntries(pairs.map(([k, v]) => [k, interpolate(v)]));
}

function dependsOn(name: string): Record<string, string> {
  const d = services[name]?.depends_on ?? {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((s) => [s, 'service_started']));
  return Object.fromEntries(Object.entries(d).map(([s, v]) => [s, v?.condition ?? 'service_started']));
}

/** [published, container] port pairs. */
function portsOf(name: string): Array<{ published?: string; target: string }> {
  return (services[name]?.ports ?? []).map((p) => {
    if (typeof p === 'object') return { published: p.published === undefined ? undefined : String(p.published), target: String(p.target) };
    const parts = String(p).replace(/\/(tcp|udp)$/, '').split(':');
    const target = parts[parts.length - 1];
    return { published: parts.length > 1 ? parts[parts.length - 2] : undefined, target };
  });
}

const asArray = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The variables loadConfig's schema reads, from its source (the zod object is not exported). */
function configKeys(): Set<string> {
  const src = read('src/config/index.ts');
  const start = src.indexOf('z.object({');
  const end = src.indexOf('\n});', start);
  expect(start).toBeGreaterThan(-1);
  const keys = [...src.slice(start, end).matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]);
  return new Set(keys);
}

describe('docker-compose.yml agrees with the app', () => {
  const appServices = { api: { runApi: true, runWorker: false }, worker: { runApi: false, runWorker: true } } as const;

  it('has the production-shaped stack', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'postgres', 'temporal', 'temporal-schema', 'temporal-setup', 'temporal-ui', 'worker']);
    expect(services.postgres.image).toMatch(/^postgres:16/);
    // The plain server, configured by deploy/temporal (below), not the auto-setup demo image.
    expect(services.temporal.image).toBe('temporalio/server:1.29.1');
    expect(services['temporal-schema'].image).toMatch(/^temporalio\/admin-tools:1\.29\.1-/);
    expect(services['temporal-setup'].image).toMatch(/^temporalio\/admin-tools:/);
    expect(services['temporal-ui'].image).toMatch(/^temporalio\/ui:/);
  });

  it('parses the config schema it checks against', () => {
    const keys = configKeys();
    for (const k of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'RUN_API', 'RUN_WORKER', 'ADMIN_API_KEY', 'PORT']) expect(keys).toContain(k);
  });

  it.each(Object.entries(appServices))('%s: sets only variables loadConfig reads, and they load', (name, expected) => {
    const env = environmentOf(name);
    const known = configKeys();
    expect(Object.keys(env).filter((k) => !known.has(k))).toEqual([]);

    const config = loadConfig(env); // throws ConfigError on any bad value
    expect({ runApi: config.runApi, runWorker: config.runWorker }).toEqual(expected);
    expect(config.temporal.taskQueue).toBe('abono-payments');
    expect(config.temporal.namespace).toBe('default');
    expect(config.env).toBe('production');
    // The split entry points (src/api/main.ts, src/worker/main.ts) require both.
    expect(config.database.url).toBeDefined();
    expect(config.temporal.address).toBeDefined();
    // Required from the operator, never a default baked into the file.
    expect(services[name].environment).toMatchObject({ ADMIN_API_KEY: expect.stringMatching(/^\$\{ADMIN_API_KEY:\?.+\}$/) });
    expect(config.adminApiKey).toBe(DUMMY);
  });

  it('api and worker share the task queue, namespace, database and Temporal', () => {
    const api = environmentOf('api');
    const worker = environmentOf('worker');
    // The codec keys too: a payload one encrypts, the other must decrypt.
    for (const k of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TASK_QUEUE', 'ADMIN_API_KEY', 'TIME_ZONE', 'PAYLOAD_CODEC_KEYS']) {
      expect([k, worker[k]]).toEqual([k, api[k]]);
    }
  });

  it('api and worker run from the Dockerfile, each with its own entry point', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toMatch(/^FROM node:20|ARG NODE_IMAGE=node:20/m);
    expect(dockerfile).toMatch(/npm install --omit=dev/);
    // Compiled JavaScript (npm run build), not tsx.
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node"\]$/m);
    expect(dockerfile).not.toMatch(/tsx/);
    for (const [name, entry] of [['api', 'src/api/main.ts'], ['worker', 'src/worker/main.ts']]) {
      const build = services[name].build;
      const context = typeof build === 'string' ? build : build?.context;
      expect(context).toBe('.');
      const memory = name === 'worker' ? workerNodeArgs({}) : [];
      expect(asArray(services[name].command)).toEqual([...memory, `dist/${entry.replace(/\.ts$/, '.js')}`]);
      expect(fs.existsSync(path.join(ROOT, entry))).toBe(true);
    }
  });

  it('every launcher starts a worker with its memory settings (src/worker/memory.ts)', () => {
    expect(read('Dockerfile')).toMatch(new RegExp(`^\\s*MALLOC_ARENA_MAX=${WORKER_MALLOC_ARENAS}\\b`, 'm'));
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.worker).toBe(`MALLOC_ARENA_MAX=${WORKER_MALLOC_ARENAS} node ${workerNodeArgs({}).join(' ')} --import tsx src/worker/main.ts`);
    expect(workerEnvironment({} as NodeJS.ProcessEnv).MALLOC_ARENA_MAX).toBe(WORKER_MALLOC_ARENAS);
    expect(workerEnvironment({ MALLOC_ARENA_MAX: '4' }).MALLOC_ARENA_MAX).toBe('4');
    expect(workerNodeArgs({ WORKER_HEAP_MB: '512' })).toEqual(['--max-old-space-size=512']);
    expect(() => workerNodeArgs({ WORKER_HEAP_MB: 'lots' })).toThrow(/WORKER_HEAP_MB/);
  });

  it("the api's published port is the one it listens on, and its healthcheck asks that port", () => {
    const config = loadConfig(environmentOf('api'));
    expect(config.http.host).toBe('0.0.0.0');
    const ports = portsOf('api');
    expect(ports).toContainEqual({ published: String(config.http.port), target: String(config.http.port) });
    expect(asArray(services.api.healthcheck?.test).join(' ')).toContain(`:${config.http.port}/health`);
    // The worker serves no HTTP.
    expect(portsOf('worker')).toEqual([]);
  });

  it('TEMPORAL_ADDRESS points at the temporal service and its frontend port', () => {
    expect(portsOf('temporal').map((p) => p.target)).toContain('7233');
    // Temporal and its UI are not public (DESIGN: trust boundary): published on this host only unless told otherwise.
    for (const name of ['temporal', 'temporal-ui']) {
      for (const p of services[name].ports ?? []) expect([name, interpolate(String(p))]).toEqual([name, expect.stringMatching(/^127\.0\.0\.1:/)]);
    }
    // The UI starts, resets and terminates nothing unless told to (README: Security).
    expect(environmentOf('temporal-ui').TEMPORAL_DISABLE_WRITE_ACTIONS).toBe('true');
    for (const name of ['api', 'worker', 'temporal-ui', 'temporal-setup']) {
      const address = environmentOf(name).TEMPORAL_ADDRESS;
      expect([name, address]).toEqual([name, 'temporal:7233']);
    }
    expect(portsOf('temporal-ui')).toContainEqual({ published: '8080', target: '8080' });
    expect(new URL(environmentOf('api').TEMPORAL_UI_URL).port).toBe('8080');
  });

  it('temporal and its schema setup run on the postgres service with its credentials, in databases the init SQL creates', () => {
    const t = environmentOf('temporal');
    const schema = environmentOf('temporal-schema');
    const pg = environmentOf('postgres');
    expect(t).toMatchObject({ TEMPORAL_DB_HOST: 'postgres', TEMPORAL_DB_PORT: '5432', TEMPORAL_DB_USER: pg.POSTGRES_USER, TEMPORAL_DB_PASSWORD: pg.POSTGRES_PASSWORD });
    expect(schema).toMatchObject({ SQL_PLUGIN: 'postgres12', SQL_HOST: 'postgres', SQL_PORT: '5432', SQL_USER: pg.POSTGRES_USER, SQL_PASSWORD: pg.POSTGRES_PASSWORD });
    const created = [...read('deploy/postgres-init.sql').matchAll(/^\s*CREATE DATABASE\s+"?([A-Za-z_][\w]*)"?/gim)].map((m) => m[1]);
    expect(created).toEqual(expect.arrayContaining([...TEMPORAL_DATABASES]));
    // The schema setup covers both, idempotently (setup at 0.0, then upgrade to the tool's version).
    const script = [...asArray(services['temporal-schema'].entrypoint), ...asArray(services['temporal-schema'].command)].join('\n');
    expect(script).toContain('temporal:postgresql/v12/temporal temporal_visibility:postgresql/v12/visibility');
    expect(script).toContain('setup-schema -v 0.0');
    expect(script).toContain('update-schema --schema-name');
  });

  it("DATABASE_URL is the postgres service's runtime role, DATABASE_OWNER_URL (the API's only) its owner, made at first start with the passwords given", () => {
    const pg = environmentOf('postgres');
    const roles = read('deploy/postgres-roles.sh');
    const mounts = (services.postgres.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
    // After the init SQL (which creates the database), in name order.
    expect(mounts).toContainEqual('./deploy/postgres-roles.sh:/docker-entrypoint-initdb.d/20-abono-roles.sh:ro');
    expect(fs.statSync(path.join(ROOT, 'deploy/postgres-roles.sh')).mode & 0o111).not.toBe(0);
    const roleOf = (role: string, variable: string) => {
      expect(roles).toContain(`CREATE ROLE ${role} LOGIN NOSUPERUSER`);
      expect(roles).toContain(`${variable.includes('OWNER') ? 'owner' : 'runtime'}_password="$${variable}"`);
      return { username: role, password: pg[variable] };
    };
    const runtime = roleOf('abono_app', 'ABONO_DB_RUNTIME_PASSWORD');
    const owner = roleOf('abono', 'ABONO_DB_OWNER_PASSWORD');
    expect(roles).toContain('ALTER DATABASE abono OWNER TO abono');
    const ownerUrl = new URL(environmentOf('api').DATABASE_OWNER_URL);
    expect([ownerUrl.hostname, decodeURIComponent(ownerUrl.username), decodeURIComponent(ownerUrl.password), ownerUrl.pathname]).toEqual(['postgres', owner.username, owner.password, '/abono']);
    expect(environmentOf('worker').DATABASE_OWNER_URL).toBeUndefined();
    const initSql = read('deploy/postgres-init.sql');
    const created = [...initSql.matchAll(/^\s*CREATE DATABASE\s+"?([A-Za-z_][\w]*)"?/gim)].map((m) => m[1]);
    expect(mounts).toContainEqual(expect.stringMatching(/^\.\/deploy\/postgres-init\.sql:\/docker-entrypoint-initdb\.d\/[^:]+\.sql(:ro)?$/));

    for (const name of Object.keys(appServices)) {
      const url = new URL(environmentOf(name).DATABASE_URL);
      expect(url.hostname).toBe('postgres');
      expect(url.port || '5432').toBe('5432');
      expect(decodeURIComponent(url.username)).toBe(runtime.username);
      expect(decodeURIComponent(url.password)).toBe(runtime.password);
      const database = url.pathname.slice(1);
      expect(database).toBe('abono');
      expect(created).toContain(database);
    }
    // The healthcheck waits for that database, not just for the server.
    expect(asArray(services.postgres.healthcheck?.test).join(' ')).toMatch(/-d abono\b/);
  });

  it('temporal-setup registers exactly the search attributes the workflows set, as Keyword', () => {
    const setup = services['temporal-setup'];
    const env = environmentOf('temporal-setup');
    const script = [...asArray(setup.entrypoint), ...asArray(setup.command)].join('\n');
    const listed = env.SEARCH_ATTRIBUTES.trim().split(/\s+/);
    expect([...listed].sort()).toEqual([...searchAttributeArgs].sort());
    const literalNames = [...script.matchAll(/--name\s+"?([A-Za-z]\w*)"?/g)].map((m) => m[1]);
    const names = new Set([...listed.map((a) => a.split('=')[0]), ...literalNames]);
    expect([...names].sort()).toEqual(searchAttributeKeys.map((k) => k.name).sort());
    expect(listed.every((a) => a.endsWith('=Keyword'))).toBe(true);

    expect(script).toContain('for attribute in $$SEARCH_ATTRIBUTES');
    expect(script).toMatch(/temporal operator search-attribute create --name "\$\$name" --type "\$\$type" --namespace "\$\$TEMPORAL_NAMESPACE" --address "\$\$TEMPORAL_ADDRESS"/);
    expect(env.TEMPORAL_NAMESPACE).toBe(loadConfig(environmentOf('worker')).temporal.namespace);
    // Idempotent: registered ones are skipped, "already exists" is not a failure.
    expect(script).toContain('search-attribute list');
    expect(script).toContain('already exists');
    // Every `$` in the script is escaped from compose's interpolation, so the shell sees it.
    expect(script.replace(/\$\$/g, '')).not.toContain('$');
  });

  it('services depend on what they need, with a healthcheck wherever one is awaited', () => {
    expect(dependsOn('temporal')).toEqual({ postgres: 'service_healthy', 'temporal-schema': 'service_completed_successfully' });
    expect(dependsOn('temporal-schema')).toEqual({ postgres: 'service_healthy' });
    expect(dependsOn('temporal-setup')).toMatchObject({ temporal: expect.any(String) });
    expect(dependsOn('temporal-ui')).toMatchObject({ temporal: expect.any(String) });
    for (const name of ['api', 'worker']) {
      expect(dependsOn(name)).toMatchObject({
        postgres: 'service_healthy',
        temporal: expect.any(String),
        'temporal-setup': 'service_completed_successfully',
      });
    }
    // Both run migrations and the bootstrap key at start: the worker waits for the api.
    expect(dependsOn('worker')).toMatchObject({ api: 'service_healthy' });

    for (const [name] of Object.entries(services)) {
      for (const [dep, condition] of Object.entries(dependsOn(name))) {
        expect([name, dep, dep in services]).toEqual([name, dep, true]);
        if (condition === 'service_healthy') expect([dep, services[dep].healthcheck !== undefined]).toEqual([dep, true]);
      }
    }
    // No cycles.
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (s: string) => {
      if (done.has(s)) return;
      if (visiting.has(s)) throw new Error(`depends_on cycle through ${s}`);
      visiting.add(s);
      Object.keys(dependsOn(s)).forEach(visit);
      visiting.delete(s);
      done.add(s);
    };
    Object.keys(services).forEach(visit);
  });
});

describe("Temporal's config files: the same in docker-compose.yml and npm run cluster", () => {
  const mounts = (services.temporal.volumes ?? []).map((v) => {
    const [source, target, mode] = typeof v === 'string' ? v.split(':') : [v.source ?? '', v.target, undefined];
    return { source: path.resolve(ROOT, source), target, mode };
  });
  const configFiles = fs.readdirSync(TEMPORAL_CONFIG_DIR).map((f) => path.join(TEMPORAL_CONFIG_DIR, f));
  const command = asArray(services.temporal.command).join('\n');
  /** The variables the server's config template reads. */
  const templateVariables = new Set([...fs.readFileSync(path.join(TEMPORAL_CONFIG_DIR, `${TEMPORAL_CONFIG_ENV}.yaml`), 'utf8').matchAll(/env "([A-Z0-9_]+)"/g)].map((m) => m[1]));

  it('mounts exactly the files of deploy/temporal, read-only, into one folder', () => {
    expect(TEMPORAL_CONFIG_DIR).toBe(path.join(ROOT, 'deploy/temporal'));
    expect(mounts.map((m) => m.source).sort()).toEqual([...configFiles].sort());
    for (const m of mounts) {
      expect([m.target, m.mode]).toEqual([expect.stringMatching(/^\/etc\/temporal\/abono\//), 'ro']);
      // The same file name inside the container as in the repository.
      expect(path.posix.basename(m.target)).toBe(path.basename(m.source));
    }
  });

  it('starts the server from that folder, with the config the cluster uses and its dynamic config', () => {
    expect(command).toMatch(new RegExp(`temporal-server --root / --config /etc/temporal/abono --env ${TEMPORAL_CONFIG_ENV} --allow-no-auth start`));
    const dynamic = mounts.find((m) => m.source === TEMPORAL_DYNAMIC_CONFIG_FILE);
    expect(dynamic).toBeDefined();
    expect(environmentOf('temporal').TEMPORAL_DYNAMIC_CONFIG_FILE).toBe(dynamic!.target);
    expect(templateVariables).toContain('TEMPORAL_DYNAMIC_CONFIG_FILE');
  });

  it('sets only variables the config template reads, in compose and in npm run cluster', async () => {
    const composeVars = [...Object.keys(environmentOf('temporal')), ...[...command.matchAll(/export ((?:[A-Z_]+="[^"]*" ?)+)/g)].flatMap((m) => [...m[1].matchAll(/([A-Z_]+)=/g)].map((v) => v[1]))];
    expect(composeVars.filter((v) => !templateVariables.has(v))).toEqual([]);
    expect(composeVars).toEqual(expect.arrayContaining(['TEMPORAL_BIND_IP', 'TEMPORAL_BROADCAST_ADDRESS', 'TEMPORAL_DB_PASSWORD']));
    const cluster = { ...temporalDbEnv('postgres://u:p@127.0.0.1:5432/abono'), ...(await temporalPorts(27233)).env };
    expect(Object.keys(cluster).filter((v) => !templateVariables.has(v))).toEqual([]);
    // Every port the template lets the environment choose, the cluster chooses.
    expect([...templateVariables].filter((v) => /_PORT$/.test(v) && !/_DB_PORT$/.test(v)).sort()).toEqual(Object.keys(cluster).filter((v) => /_PORT$/.test(v) && v !== 'TEMPORAL_DB_PORT').sort());
  });
});

describe('loadConfig', () => {
  it('names DATABASE_URL, in one line, when it is not a URL', () => {
    let caught: unknown;
    try {
      loadConfig({ DATABASE_URL: 'not-a-url' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const message = (caught as ConfigError).message;
    expect(message).not.toContain('\n');
    expect(message).toContain('DATABASE_URL');
  });
});

// ---------------------------------------------------------------------------------------------
// Child processes: the CLI and the split entry points, run as an operator would.

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** npm's own warnings (e.g. about the local npmrc) are not the program's output. */
const programLines = (text: string) => text.split('\n').filter((l) => l.trim() !== '' && !/^npm (warn|WARN|notice|error|ERR!)/.test(l));

function npxTsx(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['tsx', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const cli = (...args: string[]) => npxTsx(['src/cli/main.ts', ...args], { ...process.env, DATABASE_URL: process.env.DATABASE_URL });

describe('npm run cli -- keys', () => {
  it('creates a key shown once, lists it without the key or hash, and revokes it', async () => {
    const created = await cli('keys', 'create', '--role', 'operator', '--name', 'ci-test');
    expect([created.code, programLines(created.stderr)]).toEqual([0, []]);
    const key = /^key:\s+(abono_\S+)$/m.exec(created.stdout)?.[1];
    const id = /^id:\s+([0-9a-f-]{36})$/m.exec(created.stdout)?.[1];
    expect(key).toBeDefined();
    expect(id).toBeDefined();

    // The printed key is the one stored (as its hash).
    const db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    try {
      const rows = await db.query(`SELECT name, role, key_hash, revoked_at FROM api_keys WHERE id = $1`, [id]);
      expect(rows.rows).toEqual([{ name: 'ci-test', role: 'operator', key_hash: hashApiKey(key!), revoked_at: null }]);
    } finally {
      await db.end();
    }

    const listed = await cli('keys', 'list');
    expect(listed.code).toBe(0);
    const row = listed.stdout.split('\n').find((l) => l.includes(id!));
    expect(row).toMatch(/ci-test\W+operator\W+active\b/);
    expect(listed.stdout).not.toContain(key!);
    expect(listed.stdout).not.toContain(hashApiKey(key!));

    const asJson = await cli('keys', 'list', '--json');
    expect(asJson.code).toBe(0);
    const entry = (JSON.parse(asJson.stdout) as Array<Record<string, unknown>>).find((k) => k.id === id);
    expect(entry).toMatchObject({ id, name: 'ci-test', role: 'operator', status: 'active', revokedAt: null });
    expect(Object.keys(entry!).sort()).toEqual(['createdAt', 'id', 'lastUsedAt', 'name', 'revokedAt', 'role', 'status']);
    expect(asJson.stdout).not.toContain(hashApiKey(key!));

    const revoked = await cli('keys', 'revoke', id!);
    expect([revoked.code, programLines(revoked.stderr)]).toEqual([0, []]);
    const after = await cli('keys', 'list', '--json');
    const gone = (JSON.parse(after.stdout) as Array<Record<string, unknown>>).find((k) => k.id === id);
    expect(gone).toMatchObject({ status: 'revoked', revokedAt: expect.any(String) });
    const table = await cli('keys', 'list');
    expect(table.stdout.split('\n').find((l) => l.includes(id!))).toMatch(/ci-test\W+operator\W+revoked\b/);
  });

  it('refuses an unknown role with one line and exit code 2', async () => {
    const run = await cli('keys', 'create', '--role', 'root', '--name', 'ci-test');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const lines = programLines(run.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/unknown role "root".*viewer.*operator.*admin/);
  });

  it('refuses an unknown command and a revoke without a valid id with exit code 2', async () => {
    for (const args of [['keys', 'rotate'], ['keys', 'revoke', 'not-an-id'], ['keys', 'create', '--role', 'viewer']]) {
      const run = await cli(...args);
      expect([args, run.code, programLines(run.stderr).length]).toEqual([args, 2, 1]);
    }
  });
});

describe('split entry points', () => {
  const started: ChildProcess[] = [];
  afterAll(() => {
    // Whatever a failed test left running.
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it.each([
    ['src/api/main.ts', 'DATABASE_URL'],
    ['src/worker/main.ts', 'TEMPORAL_ADDRESS'],
  ])('%s without %s exits 2 with one line naming it', async (entry, missing) => {
    const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent' };
    delete env[missing];
    const run = await npxTsx([entry], env);
    expect(run.code).toBe(2);
    const lines = programLines(run.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(missing);
  });

  // One process that gets the signal itself, as in the image (which runs them compiled; here from their sources).
  it.each([
    ['src/api/main.ts', /API:\s+(http:\/\/\S+)\/v1/],
    ['src/worker/main.ts', /"msg":"worker running"/],
  ])('%s starts against DATABASE_URL and TEMPORAL_ADDRESS and exits 0 on SIGTERM', async (entry, ready) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: ROOT,
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'info',
        TEMPORAL_TASK_QUEUE: `compose-test-${process.pid}-${path.basename(path.dirname(entry))}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(child);
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    const match = await new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${entry} did not start: ${stderr}`)), 45000);
      child.stdout.on('data', (d) => {
        stdout += d;
        const m = ready.exec(stdout);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        }
      });
      void exited.then(({ code }) => reject(new Error(`${entry} exited ${code}: ${stderr}`)));
    });
    try {
      if (entry.includes('api')) {
        const res = await fetch(`${match[1]}/ready`);
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ checks: { database: 'ok', temporal: 'ok' } });
      }
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toEqual({ code: 0, signal: null });
  }, 90000);
});
