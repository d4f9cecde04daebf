import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { findInconsistentCredits } from './consistency';
import { paymentIdForKey } from '../../src/client/payments';
import type { TestCluster } from './cluster-env';
import { Answer, PaymentSpec, tally } from './cluster-load';

/**
 * What a lender checks after an incident, each from where a lender would look: the API for
 * the payments' states, the database for the ledger, the recalculation's own check for the
 * credits, and `audit verify` for the audit log.
 */

const TERMINAL = new Set(['APPLIED', 'REJECTED', 'FAILED', 'REVERSED']);
const ROOT = path.resolve(__dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET /v1/payments/:id over every API in turn until each payment is terminal; returns id → status. */
export async function waitTerminalOverApi(apiUrls: string[], apiKey: string, paymentIds: string[], timeoutMs = 180_000): Promise<Map<string, string>> {
  const deadline = Date.now() + timeoutMs;
  const statuses = new Map<string, string>();
  let pending = [...new Set(paymentIds)];
  let turn = 0;
  const read = async (id: string) => {
    const api = apiUrls[turn++ % apiUrls.length];
    try {
      const res = await fetch(`${api}/payments/${id}`, { headers: { authorization: `Bearer ${apiKey}` }, signal: AbortSignal.timeout(10_000) });
      if (res.status === 200) statuses.set(id, ((await res.json()) as { status: string }).status);
      else statuses.set(id, `HTTP ${res.status}`);
    } catch {
      /* that API is away: asked again on the next pass, on the other one */
    }
  };
  for (;;) {
    for (let i = 0; i < pending.length; i += 16) await Promise.all(pending.slice(i, i + 16).map(read));
    pending = pending.filter((id) => !TERMINAL.has(statuses.get(id) ?? ''));
    if (pending.length === 0) return statuses;
    if (Date.now() > deadline) {
      const left = countBy(pending.map((id) => statuses.get(id) ?? 'unread'));
      throw new Error(`${pending.length} payments not terminal after ${timeoutMs} ms: ${JSON.stringify(left)}`);
    }
    await sleep(500);
  }
}

export function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

export interface LedgerFigures {
  payments: number;
  keys: number;
  appliedPayments: number;
  ledgerEntries: number;
  paymentsWithAllocations: number;
  appliedAudits: number;
  paymentsAppliedTwice: number;
  creditsPaymentCount: number;
}

/** The ledger's own counts for these payments on these credits: every figure should equal the applied count. */
export async function ledgerFigures(ds: DataSource, paymentIds: string[], creditIds: string[]): Promise<LedgerFigures> {
  const [row] = await ds.query(
    `SELECT
       (SELECT count(*)::int FROM payments WHERE id = ANY($1::uuid[])) AS payments,
       (SELECT count(*)::int FROM idempotency_keys WHERE payment_id = ANY($1::uuid[])) AS keys,
       (SELECT count(*)::int FROM payments WHERE id = ANY($1::uuid[]) AND status = 'APPLIED') AS "appliedPayments",
       (SELECT count(*)::int FROM payments WHERE id = ANY($1::uuid[]) AND ledger_seq IS NOT NULL) AS "ledgerEntries",
       (SELECT count(DISTINCT payment_id)::int FROM payment_allocations WHERE payment_id = ANY($1::uuid[])) AS "paymentsWithAllocations",
       (SELECT count(*)::int FROM audit_log WHERE action = 'payment.applied' AND payment_id = ANY($1::uuid[])) AS "appliedAudits",
       (SELECT count(*)::int FROM (SELECT payment_id FROM audit_log WHERE action = 'payment.applied' AND payment_id = ANY($1::uuid[])
                                   GROUP BY payment_id HAVING count(*) > 1) twice) AS "paymentsAppliedTwice",
       (SELECT coalesce(sum(payment_count), 0)::int FROM credits WHERE id = ANY($2::uuid[])) AS "creditsPaymentCount"`,
    [paymentIds, creditIds],
  );
  return row;
}

/** The recalculation's consistency check over every credit: ids of those whose state differs from their ledger. */
export async function driftedCredits(ds: DataSource): Promise<{ scanned: number; drifted: string[] }> {
  const { scanned, inconsistent } = await findInconsistentCredits(ds);
  return { scanned, drifted: inconsistent.map((c) => c.creditId) };
}

/** The command line an operator runs: the production build when there is one. */
function cliCommand(): string[] {
  for (const entry of ['dist/src/cli/main.js', 'dist/cli/main.js']) {
    if (fs.existsSync(path.join(ROOT, entry))) return [path.join(ROOT, entry)];
  }
  return [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'src/cli/main.ts')];
}

/** `abono audit verify` against the cluster's database: exit code and its one line. */
export function auditVerify(databaseUrl: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...cliCommand(), 'audit', 'verify'], { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' }, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: (stdout + stderr).trim() }),
    );
  });
}

/**
 * The four checks after a burst: every payment answered and terminal (APPLIED: no payment of
 * the suite is refusable), none applied twice, every credit equal to its recomputation, and
 * the audit log intact. Returns the figures the test prints.
 */
export async function expectNothingLost(tc: TestCluster, specs: PaymentSpec[], answers: Answer[], creditIds: string[]) {
  const unanswered = answers.filter((a) => a.status !== 201 && a.status !== 202);
  expect(tally(unanswered)).toEqual({});
  expect(answers.filter((a) => a.paymentId !== paymentIdForKey(a.key))).toEqual([]);

  const paymentIds = specs.map((s) => paymentIdForKey(s.key));
  const n = new Set(paymentIds).size;
  const statuses = await waitTerminalOverApi(tc.apiUrls, tc.apiKey, paymentIds);
  expect(countBy([...statuses.values()])).toEqual({ APPLIED: n });

  const ds = await tc.openDb();
  try {
    const figures = await ledgerFigures(ds, paymentIds, creditIds);
    expect(figures).toEqual({ payments: n, keys: n, appliedPayments: n, ledgerEntries: n, paymentsWithAllocations: n, appliedAudits: n, paymentsAppliedTwice: 0, creditsPaymentCount: n });
    const consistency = await driftedCredits(ds);
    expect(consistency.drifted).toEqual([]);
    const verify = await auditVerify(tc.cluster.databaseUrl);
    expect(verify).toMatchObject({ code: 0, output: expect.stringMatching(/^audit log intact: \d+ entries in \d+ chains verified/) });
    return { payments: n, answers: tally(answers), retriedOnOtherApi: answers.filter((a) => a.tries > 1).length, creditsChecked: consistency.scanned, audit: verify.output };
  } finally {
    await ds.destroy();
  }
}
