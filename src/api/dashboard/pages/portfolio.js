// Portfolio health: GET /v1/dashboard/summary, refreshed every 30 s.
import { $, h, replace, stats, table } from '../lib/dom.js';
import { count, duration, money, pct, when } from '../lib/format.js';
import { BUCKET_COLORS, OUTCOMES, bucketsChart, collectionsChart, outcomesChart } from './portfolio-charts.js';

const REFRESH_MS = 30000;

// Static markup only (no data goes through innerHTML): the panels the render functions fill.
const LAYOUT = `
  <p class="page-head"><span id="as-of" class="as-of"></span></p>
  <section class="kpis">
    <article class="kpi"><h3>Outstanding balance</h3><p class="big" data-figure="balance"></p><p class="note" data-figure="credits"></p></article>
    <article class="kpi warn"><h3>Overdue amount</h3><p class="big" data-figure="overdue"></p><p class="note" data-figure="overdue-share"></p></article>
    <article class="kpi"><h3>Collected, last 30 days</h3><p class="big" data-figure="collected"></p><p class="note" data-figure="collected-count"></p></article>
    <article class="kpi"><h3>Failure rate, last 30 days</h3><p class="big" data-figure="failure-rate"></p><p class="note" data-figure="failure-note"></p></article>
  </section>
  <section class="grid two">
    <article class="panel"><h2>Arrears buckets <small>credits by overdue instalments</small></h2><div id="buckets-chart" class="chart"></div><div id="buckets"></div></article>
    <article class="panel"><h2>Collections per day <small id="collections-range"></small></h2><div id="collections-chart" class="chart"></div><div id="collections-stats"></div></article>
  </section>
  <section class="grid two">
    <article class="panel"><h2>Payment outcomes <small>submitted in the last 30 days</small></h2><div id="outcomes-chart" class="chart"></div><div id="outcomes"></div></article>
    <article class="panel"><h2>Last recalculation</h2><div id="recalc"></div><h2>Verification of the book</h2><div id="verification"></div></article>
  </section>
  <section class="panel"><h2>Stuck operations <small>running for more than 60 s</small></h2><div id="stuck"></div></section>`;

function setFigure(name, text, value) {
  const node = $('[data-figure="' + name + '"]');
  node.textContent = text;
  if (value !== undefined) node.setAttribute('data-value', String(value));
}

function renderKpis(d) {
  const p = d.portfolio;
  setFigure('balance', money(p.balance), p.balance);
  setFigure('credits', count(p.activeCredits) + ' active of ' + count(p.credits) + ' credits', p.credits);
  setFigure('overdue', money(p.overdueAmount), p.overdueAmount);
  const share = parseFloat(p.balance) > 0 ? parseFloat(p.overdueAmount) / parseFloat(p.balance) : 0;
  setFigure('overdue-share', pct(share) + ' of the outstanding balance');
  setFigure('collected', money(d.collections.total.amount), d.collections.total.amount);
  setFigure('collected-count', count(d.collections.total.count) + ' applied payments, ' + d.collections.from + ' – ' + d.collections.to, d.collections.total.count);
  setFigure('failure-rate', pct(d.outcomes.failureRate), d.outcomes.failureRate);
  setFigure('failure-note', count(d.outcomes.byStatus.FAILED) + ' failed · ' + count(d.outcomes.byStatus.REJECTED) + ' rejected (' + pct(d.outcomes.rejectionRate) + ') of ' + count(d.outcomes.terminal) + ' finished');
}

function renderBuckets(buckets) {
  replace('#buckets-chart', bucketsChart(buckets));
  const label = (b) => (b === 'current' ? 'current' : b + ' instalment' + (b === '1' ? '' : 's') + ' overdue');
  const rows = buckets.map((b) => {
    const swatch = h('span', { class: 'swatch' });
    swatch.style.background = BUCKET_COLORS[b.bucket];
    return h('tr', { 'data-bucket': b.bucket }, [
      h('td', {}, [swatch, label(b.bucket)]),
      h('td', { class: 'num', 'data-col': 'credits', text: count(b.credits) }),
      h('td', { class: 'num', 'data-col': 'balance', 'data-value': b.balance, text: money(b.balance) }),
      h('td', { class: 'num', 'data-col': 'overdue', 'data-value': b.overdueAmount, text: money(b.overdueAmount) }),
    ]);
  });
  replace('#buckets', table({ id: 'buckets-table' }, ['bucket', ['credits', 'num'], ['balance', 'num'], ['overdue', 'num']], rows));
}

function renderCollections(c) {
  $('#collections-range').textContent = c.from + ' – ' + c.to + ' · ' + money(c.total.amount) + ' in ' + count(c.total.count) + ' payments';
  replace('#collections-chart', collectionsChart(c.days));
  const active = c.days.filter((d) => d.count > 0);
  // Picking the busiest day compares floats; what is shown is the day's decimal string.
  const busiest = active.slice().sort((a, b) => parseFloat(b.amount) - parseFloat(a.amount))[0];
  const today = c.days[c.days.length - 1];
  replace('#collections-stats', stats('stats', [
    ['days with collections', active.length + ' of ' + c.days.length],
    ['busiest day', busiest ? busiest.date.slice(5) + ' · ' + money(busiest.amount) : '—'],
    ['today', today ? money(today.amount) + ' · ' + today.count + (today.count === 1 ? ' payment' : ' payments') : '—'],
  ]));
}

function renderOutcomes(byStatus) {
  replace('#outcomes-chart', outcomesChart(byStatus));
  const sum = OUTCOMES.reduce((a, k) => a + (byStatus[k] || 0), 0);
  const rows = OUTCOMES.map((k) => {
    const n = byStatus[k] || 0;
    return h('tr', { 'data-outcome': k }, [
      h('td', {}, [h('span', { class: 'swatch sw-' + k }), k]),
      h('td', { class: 'num', 'data-col': 'count', text: count(n) }),
      h('td', { class: 'num', text: sum ? pct(n / sum) : '—' }),
    ]);
  });
  replace('#outcomes', table({ id: 'outcomes-table' }, ['outcome', ['payments', 'num'], ['share', 'num']], rows));
}

function renderRecalc(r) {
  if (!r) return replace('#recalc', h('p', { class: 'empty', text: 'No recalculation has run yet.' }));
  const good = r.inconsistent === 0 && r.errors === 0;
  const figures = [['scanned', r.scanned], ['inconsistent', r.inconsistent], ['corrected', r.corrected], ['errors', r.errors], ['duration', duration(r.durationMs)], ['started', when(r.startedAt).slice(5, 16)]];
  replace(
    '#recalc',
    h('p', {}, [h('span', { class: 'pill ' + (r.status === 'COMPLETED' ? (good ? 'good' : 'bad') : ''), 'data-figure': 'recalc-status', text: r.status }), '  ' + r.mode + ' · finished ' + when(r.finishedAt)]),
    stats('recalc', figures.map(([k, v]) => [k, typeof v === 'number' ? count(v) : v, 'recalc-' + k])),
    h('p', { class: 'empty mono', text: r.id }),
  );
}

// The book's last verification: credits proven in the window, never proven, the oldest proof.
function renderVerification(v) {
  if (!v) return replace('#verification');
  const whole = v.verifiedInLastDays === v.credits;
  const figures = [['never verified', count(v.neverVerified)], ['changed since', count(v.changedSinceVerification)], ['oldest', v.oldestVerification ? when(v.oldestVerification.verifiedAt).slice(0, 16) : '—']];
  replace(
    '#verification',
    h('p', {}, [h('span', { class: 'pill ' + (whole ? 'good' : 'bad'), 'data-figure': 'verified-share', text: count(v.verifiedInLastDays) + ' of ' + count(v.credits) }), '  verified in the last ' + v.days + ' days']),
    stats('recalc', figures.map(([k, val]) => [k, val, 'verification-' + k.replace(/ /g, '-')])),
  );
}

function renderStuck(st) {
  if (st && st.error) return replace('#stuck', h('p', { class: 'error', text: 'Temporal could not be asked: ' + st.error }));
  if (!st || st.operations.length === 0) return replace('#stuck', h('p', { class: 'empty', 'data-figure': 'stuck-count', 'data-value': '0', text: 'None: every operation finished within 60 s.' }));
  const rows = st.operations.map((o) => {
    const link = o.temporalUrl ? h('a', { href: o.temporalUrl, target: '_blank', rel: 'noopener noreferrer', class: 'mono', text: o.workflowId }) : h('span', { class: 'mono', text: o.workflowId });
    return h('tr', { 'data-workflow-id': o.workflowId }, [
      h('td', { text: o.kind || '—' }),
      h('td', {}, [link]),
      h('td', { text: o.currentStep || '—' }),
      h('td', { class: 'num', text: o.attempt == null ? '—' : String(o.attempt) }),
      h('td', { text: duration(o.runningForMs) }),
      h('td', { text: o.lastFailure || o.note || '—' }),
    ]);
  });
  replace(
    '#stuck',
    h('p', { class: 'empty', 'data-figure': 'stuck-count', 'data-value': String(st.total), text: st.total + ' running longer than 60 s' + (st.total > st.shown ? ' (showing ' + st.shown + ')' : '') }),
    table({ id: 'stuck-table' }, ['kind', 'workflow', 'current step', 'attempt', 'running for', 'last failure'], rows),
  );
}

function render(d) {
  $('#as-of').textContent = 'as of ' + d.asOf;
  renderKpis(d);
  renderBuckets(d.portfolio.buckets);
  renderCollections(d.collections);
  renderOutcomes(d.outcomes.byStatus);
  renderRecalc(d.lastRecalculation);
  renderVerification(d.verification);
  renderStuck(d.stuck);
}

export default {
  route: '',
  title: 'Portfolio health',
  async render(root, _params, ctx) {
    root.innerHTML = LAYOUT;
    const load = async () => {
      try {
        render((await ctx.api('/v1/dashboard/summary')).body);
        ctx.clearError();
        ctx.refreshed();
        ctx.loaded();
      } catch (err) {
        ctx.fail(err);
      }
    };
    await load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  },
};
