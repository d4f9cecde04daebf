import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every change to an API key (a revocation through the CLI, the API, or by hand in SQL) notifies
 * the `abono_api_keys` channel when it commits; each abono process listens and drops its cached
 * key lookups, so a revoked key stops working everywhere at once (src/security/key-revocation.ts).
 */
export class ApiKeyChanges1732000000005 implements MigrationInterface {
  name = 'ApiKeyChanges1732000000005';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION api_keys_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('abono_api_keys', coalesce(OLD.id, NEW.id)::text);
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER api_keys_changed AFTER UPDATE OF revoked_at, role, key_hash OR DELETE ON api_keys
      FOR EACH ROW EXECUTE FUNCTION api_keys_notify()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS api_keys_changed ON api_keys`);
    await q.query(`DROP FUNCTION IF EXISTS api_keys_notify()`);
  }
}
