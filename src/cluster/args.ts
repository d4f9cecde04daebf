// `npm run cluster`'s command line, read into the cluster's options (src/cluster/main.ts prints
// a UsageError's message and exits 2).
import { parseArgs } from 'node:util';
import type { ClusterOptions } from './topology';

export class UsageError extends Error {
  override name = 'UsageError';
}

function wholeNumber(flag: string, value: string | undefined, min: number, max: number, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${flag} must be ${what}, not "${value}"`);
  return n;
}

const count = (flag: string, value: string | undefined, fallback: number) => wholeNumber(flag, value, 1, 32, 'a whole number from 1 to 32') ?? fallback;
const port = (flag: string, value: string | undefined) => wholeNumber(flag, value, 1, 65535, 'a port number');

/** The options of `argv` (without node and the script); DATABASE_URL names an existing server. */
export function clusterOptionsFrom(argv: string[], env: NodeJS.ProcessEnv): Omit<ClusterOptions, 'log'> {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        api: { type: 'string' },
        workers: { type: 'string' },
        'api-port': { type: 'string' },
        'temporal-port': { type: 'string' },
        'ui-port': { type: 'string' },
        'no-ui': { type: 'boolean' },
        'data-dir': { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return {
    apiCount: count('api', v.api, 2),
    workerCount: count('workers', v.workers, 2),
    apiBasePort: port('api-port', v['api-port']),
    temporalPort: port('temporal-port', v['temporal-port']),
    uiPort: v['no-ui'] ? false : port('ui-port', v['ui-port']),
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: v['data-dir'],
  };
}

/** A database URL fit to print: its password masked. */
export function maskPassword(url: string): string {
  return url.replace(/\/\/([^:@]+):[^@]*@/, '//$1:***@');
}
