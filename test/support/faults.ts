import { ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import type { DataSource } from 'typeorm';

/**
 * A real TCP proxy in front of PostgreSQL that the test can take down (every connection cut,
 * new ones refused) and bring back, to play "the database went away".
 */
export async function startTcpProxy(targetPort = 5432, targetHost = '127.0.0.1') {
  const sockets = new Set<net.Socket>();
  const handle = (client: net.Socket) => {
    const upstream = net.connect(targetPort, targetHost);
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  };
  let server = net.createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    async down() {
      await new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
      });
    },
    async up() {
      if (server.listening) return;
      server = net.createServer(handle);
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => (server.listening ? server.close(() => r()) : r()));
    },
  };
}

/** A worker in its own process, as `npm run worker` runs it; resolves once it polls. */
export async function spawnWorker(env: Record<string, string>): Promise<ChildProcess> {
  const root = path.resolve(__dirname, '../..');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/worker/main.ts')], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', DATABASE_POOL_SIZE: '5', RECALC_SCHEDULE_ENABLED: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${output}`)), 120_000);
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('"worker running"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}:\n${output}`));
    });
  });
  child.removeAllListeners('exit');
  return child;
}

export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Waits until every given payment has a terminal status; returns the statuses. */
export async function waitForTerminal(ds: DataSource, paymentIds: string[], timeoutMs = 120_000): Promise<Map<string, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows: Array<{ id: string; status: string }> = await ds.query(`SELECT id, status FROM payments WHERE id = ANY($1::uuid[])`, [paymentIds]);
    const statuses = new Map(rows.map((r) => [r.id, r.status]));
    const done = paymentIds.every((id) => ['APPLIED', 'REJECTED', 'FAILED', 'REVERSED'].includes(statuses.get(id) ?? ''));
    if (done) return statuses;
    if (Date.now() > deadline) throw new Error(`payments not terminal after ${timeoutMs} ms: ${JSON.stringify([...statuses.values()])} of ${paymentIds.length}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
