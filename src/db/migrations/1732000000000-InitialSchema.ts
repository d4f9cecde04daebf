import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The whole first schema. Money is NUMERIC(18,2) (amounts in have at most 12 integer digits, as the domain's
 * parser allows), rates NUMERIC(20,10); never float.
 */
export class InitialSchema1732000000000 implements MigrationInterface {
  name = 'InitialSchema1732000000000';

  // One long function on purpose: a migration is frozen once released, and reads best as the schema it creates.
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE credits (
        id                 uuid PRIMARY KEY,
        client_id          text NOT NULL,
        principal          numeric(18,2) NOT NULL CHECK (principal > 0),
        interest_rate      numeric(20,10) NOT NULL CHECK (interest_rate >= 0),
        installments       integer NOT NULL CHECK (installments BETWEEN 1 AND 600),
        period_days        integer NOT NULL CHECK (period_days > 0),
        start_date         date NOT NULL,
        schedule_type      text NOT NULL CHECK (schedule_type IN ('FLAT','DECLINING')),
        status             text NOT NULL CHECK (status IN ('ACTIVE','PAID_OFF')),
        total_interest     numeric(18,2) NOT NULL,
        total_amount       numeric(18,2) NOT NULL,
        installment_amount numeric(18,2) NOT NULL,
        balance            numeric(18,2) NOT NULL CHECK (balance >= 0),
        total_paid         numeric(18,2) NOT NULL CHECK (total_paid >= 0),
        paid_installments  integer NOT NULL DEFAULT 0,
        payment_count      integer NOT NULL DEFAULT 0,
        last_payment_date  date,
        last_ledger_seq    integer NOT NULL DEFAULT 0,
        created_by         text,
        created_at         timestamptz NOT NULL DEFAULT now(),
        updated_at         timestamptz NOT NULL DEFAULT now(),
        CHECK (balance = total_amount - total_paid)
      )`);
    await q.query(`CREATE INDEX credits_client_idx ON credits (client_id, id)`);
    await q.query(`CREATE INDEX credits_status_idx ON credits (status, id)`);

    await q.query(`
      CREATE TABLE credit_installments (
        credit_id      uuid NOT NULL REFERENCES credits(id),
        number         integer NOT NULL,
        due_date       date NOT NULL,
        amount         numeric(18,2) NOT NULL CHECK (amount > 0),
        principal      numeric(18,2) NOT NULL CHECK (principal >= 0),
        interest       numeric(18,2) NOT NULL CHECK (interest >= 0),
        cumulative_due numeric(18,2) NOT NULL,
        PRIMARY KEY (credit_id, number)
      )`);

    await q.query(`
      CREATE TABLE payments (
        id                        uuid PRIMARY KEY,
        credit_id                 uuid NOT NULL REFERENCES credits(id),
        idempotency_key           text NOT NULL UNIQUE,
        amount                    numeric(18,2) NOT NULL CHECK (amount > 0),
        payment_date              date NOT NULL,
        reference                 text,
        status                    text NOT NULL CHECK (status IN ('PENDING','APPLIED','REJECTED','FAILED','REVERSED')),
        ledger_seq                integer,
        principal_portion         numeric(18,2),
        interest_portion          numeric(18,2),
        installment_number        integer,
        remaining_for_installment numeric(18,2),
        balance_after             numeric(18,2),
        reason_code               text,
        reason                    text,
        workflow_id               text NOT NULL,
        actor                     text,
        created_at                timestamptz NOT NULL DEFAULT now(),
        applied_at                timestamptz,
        completed_at              timestamptz,
        reversed_at               timestamptz,
        reversed_by               text,
        reversal_reason           text
      )`);
    // ledger order per credit: one sequence number per applied payment
    await q.query(`CREATE UNIQUE INDEX payments_credit_ledger_idx ON payments (credit_id, ledger_seq) WHERE ledger_seq IS NOT NULL`);
    await q.query(`CREATE INDEX payments_credit_created_idx ON payments (credit_id, created_at, id)`);
    await q.query(`CREATE INDEX payments_date_idx ON payments (payment_date, status)`);
    await q.query(`CREATE INDEX payments_status_created_idx ON payments (status, created_at)`);

    await q.query(`
      CREATE TABLE payment_allocations (
        payment_id                uuid NOT NULL REFERENCES payments(id),
        installment_number        integer NOT NULL,
        credit_id                 uuid NOT NULL REFERENCES credits(id),
        amount                    numeric(18,2) NOT NULL CHECK (amount > 0),
        principal                 numeric(18,2) NOT NULL CHECK (principal >= 0),
        interest                  numeric(18,2) NOT NULL CHECK (interest >= 0),
        remaining_for_installment numeric(18,2) NOT NULL CHECK (remaining_for_installment >= 0),
        PRIMARY KEY (payment_id, installment_number)
      )`);
    await q.query(`CREATE INDEX payment_allocations_credit_idx ON payment_allocations (credit_id, installment_number)`);

    // What the API accepted before any worker saw it: the key, the body's hash, the payment id.
    await q.query(`
      CREATE TABLE idempotency_keys (
        key          text PRIMARY KEY,
        request_hash text NOT NULL,
        payment_id   uuid NOT NULL UNIQUE,
        credit_id    uuid NOT NULL,
        request      jsonb NOT NULL,
        actor        text,
        created_at   timestamptz NOT NULL DEFAULT now()
      )`);

    await q.query(`
      CREATE TABLE audit_log (
        id          bigserial PRIMARY KEY,
        occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        action      text NOT NULL,
        credit_id   uuid,
        payment_id  uuid,
        actor       text,
        workflow_id text,
        run_id      text,
        dedupe_key  text UNIQUE,
        details     jsonb NOT NULL DEFAULT '{}'::jsonb
      )`);
    await q.query(`CREATE INDEX audit_log_payment_idx ON audit_log (payment_id, id)`);
    await q.query(`CREATE INDEX audit_log_credit_idx ON audit_log (credit_id, id)`);
    // Append-only: the database itself refuses to change or remove history.
    await q.query(`
      CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`);
    await q.query(`
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`);

    await q.query(`
      CREATE TABLE api_keys (
        id           uuid PRIMARY KEY,
        name         text NOT NULL,
        role         text NOT NULL CHECK (role IN ('viewer','operator','admin')),
        key_hash     text NOT NULL UNIQUE,
        created_at   timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at   timestamptz
      )`);

    await q.query(`
      CREATE TABLE recalculation_runs (
        id           text PRIMARY KEY,
        status       text NOT NULL,
        dry_run      boolean NOT NULL,
        scope        jsonb NOT NULL DEFAULT '{}'::jsonb,
        scanned      integer NOT NULL DEFAULT 0,
        inconsistent integer NOT NULL DEFAULT 0,
        corrected    integer NOT NULL DEFAULT 0,
        errors       integer NOT NULL DEFAULT 0,
        started_by   text,
        started_at   timestamptz NOT NULL DEFAULT now(),
        finished_at  timestamptz,
        result       jsonb
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['recalculation_runs', 'api_keys', 'audit_log', 'idempotency_keys', 'payment_allocations', 'payments', 'credit_installments', 'credits']) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
    await q.query(`DROP FUNCTION IF EXISTS audit_log_append_only()`);
  }
}
