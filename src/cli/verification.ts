// `npm run cli -- verification [--days N] [--json]`: the book's last verification, through the API (any key
// that may read: viewer and up): credits proven in the last N days, the oldest verification, never-verified ones.
import Table from 'cli-table3';
import { CliError, firstLine, UsageError } from './common';
import { api } from './recalc';

interface BookVerification {
  days: number;
  credits: number;
  verifiedInLastDays: number;
  neverVerified: number;
  neverVerifiedCreditIds: string[];
  changedSinceVerification: number;
  oldestVerification: { creditId: string; verifiedAt: string; runId: string } | null;
}

export async function verificationCommand(daysFlag: string | undefined, json: boolean): Promise<number> {
  const days = daysFlag === undefined ? 7 : Number(daysFlag);
  if (!Number.isInteger(days) || days < 1 || days > 366) throw new UsageError(`--days must be a whole number of days from 1 to 366, not "${daysFlag}"`);
  const apiKey = process.env.ABONO_API_KEY;
  if (!apiKey) throw new UsageError('ABONO_API_KEY is required for verification (any API key)');
  let v: BookVerification;
  try {
    v = await api<BookVerification>({ apiUrl: process.env.ABONO_API_URL ?? 'http://127.0.0.1:3000', apiKey }, 'GET', `/v1/verification?days=${days}`);
  } catch (err) {
    throw new CliError(firstLine(err));
  }
  // Exit 1 when some credit was not proven in the window: a script can alert on it.
  const code = v.verifiedInLastDays === v.credits ? 0 : 1;
  if (json) {
    process.stdout.write(JSON.stringify(v) + '\n');
    return code;
  }
  const table = new Table({ head: ['credits', `verified in the last ${v.days} days`, 'never verified', 'changed since verified', 'oldest verification'] });
  const oldest = v.oldestVerification ? `${v.oldestVerification.verifiedAt} (${v.oldestVerification.runId})` : 'none';
  table.push([v.credits, v.verifiedInLastDays, v.neverVerified, v.changedSinceVerification, oldest]);
  process.stdout.write(table.toString() + '\n');
  if (v.neverVerified) process.stdout.write(`never verified: ${v.neverVerifiedCreditIds.join(' ')}${v.neverVerified > v.neverVerifiedCreditIds.length ? ' …' : ''}\n`);
  return code;
}
