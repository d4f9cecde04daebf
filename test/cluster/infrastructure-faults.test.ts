import { expectNothingLost } from '../support/cluster-checks';
import { burstOnNewCredits, report, sharedCluster } from '../support/cluster-env';

// Temporal's server and the PostgreSQL under everything (Temporal's data and abono's) go away
// mid-burst and come back; the APIs answer 503 meanwhile and the clients retry with the same key.

// Long enough for every client to meet the outage (the APIs answer 503 meanwhile), as a
// supervisor's restart would take.
const OUTAGE_MS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cluster = sharedCluster();

describe('the cluster under infrastructure faults, 500 payments over both APIs each', () => {
  it("Temporal's server SIGKILLed mid-burst and restarted 5 s later: nothing lost, nothing applied twice", async () => {
    const tc = cluster();
    const { credits, specs, burst } = await burstOnNewCredits(tc, 150);
    await tc.cluster.temporal.kill('SIGKILL');
    const answeredAtKill = burst.answered();
    const downAt = Date.now();
    await sleep(OUTAGE_MS);
    await tc.cluster.temporal.start();
    const downMs = Date.now() - downAt;
    const answers = await burst.done;
    expect(answeredAtKill).toBeLessThan(specs.length);
    report('Temporal SIGKILL', { answeredAtKill, downMs, retried: burst.retried(), ...(await expectNothingLost(tc, specs, answers, credits)) });
  }, 600_000);

  it('PostgreSQL stopped mid-burst and started again 5 s later: nothing lost, nothing applied twice', async () => {
    const tc = cluster();
    const postgres = tc.cluster.postgres;
    if (!postgres) throw new Error('the suite needs the cluster to run its own (embedded) PostgreSQL');
    const { credits, specs, burst } = await burstOnNewCredits(tc, 150);
    // A fast shutdown (SIGINT: sessions are ended, as `pg_ctl restart -m fast` does); a smart
    // one would wait for every pooled connection to close, which never happens.
    await postgres.kill('SIGINT');
    const answeredAtStop = burst.answered();
    const downAt = Date.now();
    await sleep(OUTAGE_MS);
    await postgres.start();
    const downMs = Date.now() - downAt;
    const answers = await burst.done;
    expect(answeredAtStop).toBeLessThan(specs.length);
    report('PostgreSQL restart', { answeredAtStop, downMs, retried: burst.retried(), ...(await expectNothingLost(tc, specs, answers, credits)) });
  }, 600_000);
});
