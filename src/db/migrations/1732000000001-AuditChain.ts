import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The tamper-evident audit log: every entry stores `hash = sha256(prev_hash || canonical content)`,
 * where prev_hash is the hash of the entry before it in its chain. Chains are per credit (entries
 * with a credit_id) plus one `global` chain (entries without), so payments to different credits
 * never wait on each other. A BEFORE INSERT trigger links each entry under an advisory lock on its
 * chain and assigns the id inside that lock, so within a chain id order is link order.
 *
 * `audit_entry_hash(...)` is the one definition of the hash: the trigger and `audit verify`
 * (src/db/audit-chain.ts) both call it. The content is a JSON array (unambiguous: nulls stay
 * null, strings are quoted), with occurred_at as UTC microseconds so no session setting changes it.
 */
export class AuditChain1732000000001 implements MigrationInterface {
  name = 'AuditChain1732000000001';

  async up(q: QueryRunner): Promise<void> {
    // The backfill walks the whole log once; no per-connection statement_timeout applies to it.
    await q.query(`SET LOCAL statement_timeout = 0`);
    await q.query(`ALTER TABLE audit_log ADD COLUMN chain text, ADD COLUMN prev_hash text, ADD COLUMN hash text`);

    await q.query(`
      CREATE FUNCTION audit_entry_hash(
        prev_hash text, id bigint, chain text, occurred_at timestamptz, action text, credit_id uuid, payment_id uuid,
        actor text, workflow_id text, run_id text, dedupe_key text, details jsonb)
      RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
        SELECT encode(sha256(convert_to(
          coalesce(prev_hash, '') || jsonb_build_array(
            id, chain, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            action, credit_id, payment_id, actor, workflow_id, run_id, dedupe_key, details)::text,
          'UTF8')), 'hex')
      $$`);

    // Existing entries (a database that had a log before this migration): link them in id order.
    await q.query(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete`);
    await q.query(`
      DO $$
      DECLARE
        r record;
        cur text := NULL;
        prev text := NULL;
        h text;
      BEGIN
        FOR r IN SELECT * FROM audit_log ORDER BY coalesce(credit_id::text, 'global'), id LOOP
          IF cur IS DISTINCT FROM coalesce(r.credit_id::text, 'global') THEN
            cur := coalesce(r.credit_id::text, 'global');
            prev := NULL;
          END IF;
          h := audit_entry_hash(prev, r.id, cur, r.occurred_at, r.action, r.credit_id, r.payment_id, r.actor, r.workflow_id, r.run_id, r.dedupe_key, r.details);
          UPDATE audit_log SET chain = cur, prev_hash = prev, hash = h WHERE id = r.id;
          prev := h;
        END LOOP;
      END $$`);
    await q.query(`ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete`);
    await q.query(`ALTER TABLE audit_log ALTER COLUMN chain SET NOT NULL, ALTER COLUMN hash SET NOT NULL`);
    await q.query(`CREATE INDEX audit_log_chain_idx ON audit_log (chain, id)`);
    // The trigger assigns ids, inside the chain's lock; the column default would only waste values.
    await q.query(`ALTER TABLE audit_log ALTER COLUMN id DROP DEFAULT`);

    await q.query(`
      CREATE FUNCTION audit_log_link() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        head text;
      BEGIN
        -- The chain's head is read after taking its lock; a REPEATABLE READ or SERIALIZABLE
        -- snapshot taken before the lock could miss the newest entry and fork the chain.
        IF current_setting('transaction_isolation') <> 'read committed' THEN
          RAISE EXCEPTION 'audit_log entries must be written in READ COMMITTED transactions (isolation is %)',
            current_setting('transaction_isolation') USING ERRCODE = 'feature_not_supported';
        END IF;
        NEW.chain := coalesce(NEW.credit_id::text, 'global');
        -- Two-key form: its own lock space, apart from abono's single-key advisory locks.
        PERFORM pg_advisory_xact_lock(1094864463, hashtext(NEW.chain));
        NEW.id := nextval('audit_log_id_seq');
        SELECT a.hash INTO head FROM audit_log a WHERE a.chain = NEW.chain ORDER BY a.id DESC LIMIT 1;
        NEW.prev_hash := head;
        NEW.hash := audit_entry_hash(NEW.prev_hash, NEW.id, NEW.chain, NEW.occurred_at, NEW.action, NEW.credit_id,
          NEW.payment_id, NEW.actor, NEW.workflow_id, NEW.run_id, NEW.dedupe_key, NEW.details);
        RETURN NEW;
      END $$`);
    // With INSERT ... ON CONFLICT DO NOTHING the trigger runs, then the conflicting row is not
    // inserted: nothing links to it, and the next entry reads the real head.
    await q.query(`
      CREATE TRIGGER audit_log_link BEFORE INSERT ON audit_log
      FOR EACH ROW EXECUTE FUNCTION audit_log_link()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS audit_log_link ON audit_log`);
    await q.query(`DROP FUNCTION IF EXISTS audit_log_link()`);
    await q.query(`ALTER TABLE audit_log ALTER COLUMN id SET DEFAULT nextval('audit_log_id_seq')`);
    await q.query(`DROP INDEX IF EXISTS audit_log_chain_idx`);
    await q.query(`ALTER TABLE audit_log DROP COLUMN IF EXISTS hash, DROP COLUMN IF EXISTS prev_hash, DROP COLUMN IF EXISTS chain`);
    await q.query(`DROP FUNCTION IF EXISTS audit_entry_hash(text, bigint, text, timestamptz, text, uuid, uuid, text, text, text, text, jsonb)`);
  }
}
