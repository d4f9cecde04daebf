import net from 'node:net';
import { freePort } from '../observability/metrics';

export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** The first free port from `start` up that is not in `taken`. */
export async function freePortFrom(start: number, taken: Set<number>): Promise<number> {
  for (let port = start; port < 65536; port++) {
    if (!taken.has(port) && (await portFree(port))) return port;
  }
  throw new Error(`no free port from ${start}`);
}

/** The port asked for; a default that is taken gives way to a free one, an explicit one does not. */
export async function choosePort(what: string, asked: number | undefined, fallback: number): Promise<number> {
  const port = asked ?? fallback;
  if (await portFree(port)) return port;
  if (asked !== undefined) throw new Error(`${what}: port ${port} is in use`);
  return freePort();
}
