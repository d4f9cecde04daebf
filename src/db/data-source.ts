import { types } from 'pg';
import { DataSource } from 'typeorm';

// Dates stay 'YYYY-MM-DD' strings and NUMERIC stays a string (decimal.js parses it):
// no Date or float ever stands between the database and the domain.
types.setTypeParser(types.builtins.DATE, (v) => v);
import { InitialSchema1732000000000 } from './migrations/1732000000000-InitialSchema';
import { AuditChain1732000000001 } from './migrations/1732000000001-AuditChain';
import { ReportFigures1732000000002 } from './migrations/1732000000002-ReportFigures';
import { Recalculation1732000000003 } from './migrations/1732000000003-Recalculation';
import { RecordedStarts1732000000004 } from './migrations/1732000000004-RecordedStarts';
import { ApiKeyChanges1732000000005 } from './migrations/1732000000005-ApiKeyChanges';
import { VerificationMarks1732000000018 } from './migrations/1732000000018-VerificationMarks';
import { CreditExternalId1732000016000 } from './migrations/1732000016000-CreditExternalId';
import { PaymentBatches1732000016001 } from './migrations/1732000016001-PaymentBatches';
import { PaymentBatchOutcomes1732000016002 } from './migrations/1732000016002-PaymentBatchOutcomes';
import { Imports1732000017000 } from './migrations/1732000017000-Imports';
import { VerificationScopeReads1732000018100 } from './migrations/1732000018100-VerificationScopeReads';
import { PaymentIndexes1732000019000 } from './migrations/1732000019000-PaymentIndexes';

export const migrations = [
  InitialSchema1732000000000,
  AuditChain1732000000001,
  ReportFigures1732000000002,
  Recalculation1732000000003,
  RecordedStarts1732000000004,
  ApiKeyChanges1732000000005,
  VerificationMarks1732000000018,
  CreditExternalId1732000016000,
  PaymentBatches1732000016001,
  Imports1732000017000,
  PaymentBatchOutcomes1732000016002,
  VerificationScopeReads1732000018100,
  PaymentIndexes1732000019000,
];

/** Default PostgreSQL statement_timeout of every pooled connection (DATABASE_STATEMENT_TIMEOUT_MS). */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;

/**
 * One pool per process. Schema changes only through migrations, never synchronize.
 * Every connection carries a server-side statement_timeout (0 = none), so no query can hang
 * a request or an activity forever; a long job sets its own with SET LOCAL.
 */
export function createDataSource(url: string, poolSize = 20, opts: { statementTimeoutMs?: number } = {}): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    migrations,
    migrationsRun: false,
    synchronize: false,
    logging: false,
    extra: { max: poolSize, connectionTimeoutMillis: 5000, application_name: 'abono', statement_timeout: opts.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS },
  });
}

export async function runMigrations(ds: DataSource): Promise<string[]> {
  const ran = await ds.runMigrations({ transaction: 'each' });
  return ran.map((m) => m.name);
}
