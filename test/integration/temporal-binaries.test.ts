// Finding or building Temporal's programs on first use: the CLI (npm start's dev server) and the
// server, schema tool and UI server (npm run cluster). Go itself is played by a small shell script
// on PATH that answers `go env` and "builds" by writing the program into GOBIN, so what is checked
// is abono's side: where it looks, when it builds, what it says, and what a failed build leaves.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureTemporalCli, findTemporalCli, goBinDir, installTemporalCli, onPath, TEMPORAL_CLI_MODULE } from '../../src/temporal/cli-binary';
import { ensureTemporalServer, findTemporalServer, TEMPORAL_SERVER_MODULES, TEMPORAL_UI_SERVER_MODULE } from '../../src/temporal/server-binary';

/**
 * A folder with a `go` that records its calls in calls.log, prints GOBIN/GOPATH for `go env`, and for
 * `go install MODULE…` writes each module's command (its last path element before @) into GOBIN, or
 * fails for the modules named in FAIL_MODULES.
 */
function fakeGo(): { dir: string; gopath: string; calls: () => string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abono-fake-go-'));
  const gopath = path.join(dir, 'gopath');
  const script = `#!/bin/sh
echo "$*" >> "${dir}/calls.log"
if [ "$1" = env ]; then echo "$GOBIN"; echo "${gopath}"; exit 0; fi
if [ "$1" = install ]; then
  shift
  out="\${GOBIN:-${gopath}/bin}"
  mkdir -p "$out"
  for m in "$@"; do
    case " $FAIL_MODULES " in *" $m "*) echo "build failed: $m" >&2; exit 1;; esac
    name=$(echo "$m" | sed 's/@.*//; s#.*/##')
    printf '#!/bin/sh\\n' > "$out/$name"; chmod +x "$out/$name"
  done
  exit 0
fi
exit 2
`;
  fs.writeFileSync(path.join(dir, 'go'), script, { mode: 0o755 });
  const calls = () => (fs.existsSync(path.join(dir, 'calls.log')) ? fs.readFileSync(path.join(dir, 'calls.log'), 'utf8').trim().split('\n') : []);
  return { dir, gopath, calls };
}

describe("Temporal's programs, found or built on first use", () => {
  const saved = { ...process.env };
  let go: ReturnType<typeof fakeGo>;
  beforeEach(() => {
    go = fakeGo();
    // Only the fake go and the shell's basics: no real temporal, go or server on PATH.
    process.env.PATH = `${go.dir}:/usr/bin:/bin`;
    delete process.env.GOBIN;
    delete process.env.FAIL_MODULES;
    for (const k of ['TEMPORAL_SERVER_PATH', 'TEMPORAL_SQL_TOOL_PATH', 'TEMPORAL_UI_SERVER_PATH']) delete process.env[k];
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  it('looks on PATH, and in Go’s bin folder', () => {
    expect(onPath('go')).toBe(path.join(go.dir, 'go'));
    expect(onPath('no-such-program-anywhere')).toBeUndefined();
    expect(goBinDir(path.join(go.dir, 'go'))).toBe(path.join(go.gopath, 'bin'));
  });

  it('uses TEMPORAL_CLI_PATH when it names a file, and says so when it does not', () => {
    const file = path.join(go.dir, 'my-temporal');
    fs.writeFileSync(file, '');
    expect(findTemporalCli(file)).toBe(file);
    expect(() => findTemporalCli(path.join(go.dir, 'missing'))).toThrow(`TEMPORAL_CLI_PATH: no file at ${path.join(go.dir, 'missing')}`);
  });

  it('builds the CLI with Go the first time, logging it, and finds the built one afterwards', async () => {
    expect(findTemporalCli()).toBeUndefined();
    const logs: string[] = [];
    const built = await ensureTemporalCli(undefined, (m) => logs.push(m));
    expect(built).toBe(path.join(go.gopath, 'bin', 'temporal'));
    expect(go.calls()).toContain(`install ${TEMPORAL_CLI_MODULE}`);
    expect(logs[0]).toBe(`Temporal CLI not found: building ${TEMPORAL_CLI_MODULE} with Go (first time only, takes a few minutes)...`);
    expect(logs).toContain(`Temporal CLI: ${built}`);
    const before = go.calls().length;
    expect(await ensureTemporalCli(undefined, () => undefined)).toBe(built);
    expect(go.calls().filter((c) => c.startsWith('install'))).toHaveLength(1);
    expect(go.calls().length).toBeGreaterThan(before); // only `go env`, to find the bin folder
    // On PATH, it wins over Go's bin folder.
    fs.writeFileSync(path.join(go.dir, 'temporal'), '');
    expect(findTemporalCli()).toBe(path.join(go.dir, 'temporal'));
  });

  it('without Go, there is nothing to build with: the caller falls back (the CLI) or is told why (the server)', async () => {
    process.env.PATH = '/nonexistent';
    expect(await installTemporalCli(() => undefined)).toBeUndefined();
    await expect(ensureTemporalServer(() => undefined)).rejects.toThrow("Temporal's server is built with Go, and no `go` is on PATH");
  });

  it('builds the server and schema tool, then the UI server into its own folder; later starts build nothing', async () => {
    const logs: string[] = [];
    const bins = await ensureTemporalServer((m) => logs.push(m));
    const bin = path.join(go.gopath, 'bin');
    expect(bins).toEqual({ server: path.join(bin, 'server'), sqlTool: path.join(bin, 'sql'), uiServer: path.join(bin, 'temporal-ui-server', 'server') });
    expect(go.calls().filter((c) => c.startsWith('install'))).toEqual([`install ${TEMPORAL_SERVER_MODULES.join(' ')}`, `install ${TEMPORAL_UI_SERVER_MODULE}`]);
    expect(logs.some((l) => l.startsWith("Temporal's server and schema tool built in"))).toBe(true);
    await ensureTemporalServer(() => undefined);
    expect(go.calls().filter((c) => c.startsWith('install'))).toHaveLength(2);
  });

  it('runs without a UI when the UI server does not build, and does not try without a UI', async () => {
    process.env.FAIL_MODULES = TEMPORAL_UI_SERVER_MODULE;
    const logs: string[] = [];
    const bins = await ensureTemporalServer((m) => logs.push(m));
    expect(bins.server).toBe(path.join(go.gopath, 'bin', 'server'));
    expect(bins.uiServer).toBeUndefined();
    expect(logs).toContain('the Temporal UI server did not build (go install exited with 1): running without a UI');
    const installs = go.calls().filter((c) => c.startsWith('install')).length;
    expect((await ensureTemporalServer(() => undefined, { ui: false })).uiServer).toBeUndefined();
    expect(go.calls().filter((c) => c.startsWith('install'))).toHaveLength(installs);
  });

  it('fails when the server does not build', async () => {
    process.env.FAIL_MODULES = TEMPORAL_SERVER_MODULES[0];
    await expect(ensureTemporalServer(() => undefined)).rejects.toThrow('go install exited with 1');
  });

  it('takes each program from its own setting, refusing a setting that names no file', () => {
    const file = path.join(go.dir, 'my-server');
    fs.writeFileSync(file, '');
    expect(findTemporalServer({ TEMPORAL_SERVER_PATH: file }).server).toBe(file);
    expect(() => findTemporalServer({ TEMPORAL_SQL_TOOL_PATH: path.join(go.dir, 'none') })).toThrow(`no file at ${path.join(go.dir, 'none')}`);
    expect(findTemporalServer({})).toEqual({ server: undefined, sqlTool: undefined, uiServer: undefined });
  });
});
