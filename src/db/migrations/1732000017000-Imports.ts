import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Importing a legacy book (DESIGN.md §10): one row per import (its mode, the two files' digests, counts, outcome),
 * the two files' rows as they were read (staging, loaded by COPY), one row per finished chunk (a retried chunk is
 * counted, and written, once), the reconciliation's differences, and for each credit an import loaded the legacy
 * rows it came from (a re-import whose rows changed is refused, never overwritten).
 */
export class Imports1732000017000 implements MigrationInterface {
  name = 'Imports1732000017000';

  // Long: the import's tables and their indexes, one DDL statement each.
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE imports (
        id                 uuid PRIMARY KEY,
        mode               text NOT NULL CHECK (mode IN ('APPLY','DRY_RUN')),
        status             text NOT NULL CHECK (status IN ('RECEIVED','RUNNING','COMPLETED','CANCELLED','FAILED')),
        credits_digest     text NOT NULL,
        payments_digest    text NOT NULL,
        mapping            jsonb,
        credit_count       integer NOT NULL DEFAULT 0,
        payment_count      integer NOT NULL DEFAULT 0,
        workflow_id        text NOT NULL,
        actor              text,
        created_at         timestamptz NOT NULL DEFAULT now(),
        started_at         timestamptz,
        finished_at        timestamptz
      )`);
    await q.query(`CREATE INDEX imports_created_idx ON imports (created_at DESC)`);
    await q.query(`
      CREATE TABLE import_credits (
        import_id          uuid NOT NULL REFERENCES imports(id),
        line_number        integer NOT NULL,
        legacy_id          text NOT NULL,
        client_id          text NOT NULL,
        amount             numeric NOT NULL,
        interest_rate      numeric NOT NULL,
        total_installments integer NOT NULL,
        start_date         date NOT NULL,
        total_amount       numeric,
        installment_amount numeric,
        paid_installments  integer,
        balance            numeric,
        total_paid         numeric,
        schedule_type      text,
        period_days        integer,
        status             text,
        PRIMARY KEY (import_id, line_number)
      )`);
    // Chunks walk an import's credits by legacy id.
    await q.query(`CREATE INDEX import_credits_legacy_idx ON import_credits (import_id, legacy_id)`);
    await q.query(`
      CREATE TABLE import_payments (
        import_id          uuid NOT NULL REFERENCES imports(id),
        line_number        integer NOT NULL,
        legacy_id          text NOT NULL,
        credit_legacy_id   text NOT NULL,
        amount             numeric NOT NULL,
        payment_date       date NOT NULL,
        installment_number integer,
        principal_portion  numeric,
        interest_portion   numeric,
        PRIMARY KEY (import_id, line_number)
      )`);
    // A chunk reads its credits' payments by legacy credit id.
    await q.query(`CREATE INDEX import_payments_credit_idx ON import_payments (import_id, credit_legacy_id)`);
    await q.query(`
      CREATE TABLE import_chunks (
        import_id          uuid NOT NULL REFERENCES imports(id),
        lo                 text NOT NULL,
        credits            integer NOT NULL,
        loaded             integer NOT NULL,
        unchanged          integer NOT NULL,
        refused            integer NOT NULL,
        with_differences   integer NOT NULL,
        payments_applied   integer NOT NULL,
        payments_not_applied integer NOT NULL,
        amount_applied     numeric(18,2) NOT NULL,
        finished_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (import_id, lo)
      )`);
    await q.query(`
      CREATE TABLE import_differences (
        import_id          uuid NOT NULL REFERENCES imports(id),
        legacy_credit_id   text NOT NULL,
        n                  integer NOT NULL,
        credit_id          uuid,
        code               text NOT NULL,
        field              text NOT NULL,
        legacy_value       text,
        abono_value        text,
        amount_at_stake    numeric(18,2),
        payment_legacy_id  text,
        detail             text,
        PRIMARY KEY (import_id, legacy_credit_id, n)
      )`);
    // Paging filtered by code, and the counts and amounts by code.
    await q.query(`CREATE INDEX import_differences_code_idx ON import_differences (import_id, code, legacy_credit_id, n) INCLUDE (amount_at_stake)`);
    await q.query(`
      CREATE TABLE imported_credits (
        credit_id          uuid PRIMARY KEY REFERENCES credits(id),
        legacy_id          text NOT NULL UNIQUE,
        import_id          uuid NOT NULL REFERENCES imports(id),
        legacy_digest      text NOT NULL,
        legacy             jsonb NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['imported_credits', 'import_differences', 'import_chunks', 'import_payments', 'import_credits', 'imports']) await q.query(`DROP TABLE IF EXISTS ${t}`);
  }
}
