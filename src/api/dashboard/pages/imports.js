// Imports from the lender's previous system: the recent imports; an import's page (#/imports/<id>) follows it while
// it runs, then shows the reconciliation: credits loaded, unchanged and refused, the differences by code with the
// amount at stake, a code's differences paged (each linking to its credit's page), and their CSV download.
import { h, replace, table } from '../lib/dom.js';
import { count, duration, money, when } from '../lib/format.js';
import { progressBar, statusPill } from './file-batch.js';

const FOLLOW_MS = 1000;
const LIST_REFRESH_MS = 3000;
const DIFFERENCES_PAGE = 50;
const RUNNING = ['RECEIVED', 'RUNNING'];

/** Differences in all codes together, as the list shows them. */
const differenceCount = (imp) => Object.values(imp.differences).reduce((n, d) => n + d.count, 0);

function importRow(imp) {
  return h('tr', { 'data-import-id': imp.id, 'data-status': imp.status }, [
    h('td', {}, [h('a', { href: '#/imports/' + imp.id, class: 'mono', text: imp.id.slice(0, 8) })]),
    h('td', { text: when(imp.createdAt).slice(0, 19) }),
    h('td', { text: imp.mode === 'DRY_RUN' ? 'dry run' : 'apply' }),
    h('td', {}, [statusPill(imp.status, 'import-status')]),
    h('td', { class: 'num', text: count(imp.files.credits.rows) }),
    h('td', { class: 'num', text: count(imp.credits.loaded) }),
    h('td', { class: 'num', text: count(imp.credits.refused) }),
    h('td', { class: 'num', text: count(differenceCount(imp)) }),
  ]);
}

async function renderList(root, ctx) {
  const list = h('div', { id: 'imports' });
  const how = 'POST /v1/imports (admin) with the credits and payments files, or the CLI; see “Moving from your current system”';
  root.append(h('section', { class: 'panel' }, [h('h2', {}, ['Recent imports ', h('small', { text: 'newest first · ' + how })]), list]));
  let timer = null;
  const load = async () => {
    const { imports } = (await ctx.api('/v1/imports?limit=20')).body;
    if (imports.length === 0) replace(list, h('p', { class: 'empty', text: 'No import yet.' }));
    else replace(list, table({ id: 'imports-table' }, ['import', 'received', 'mode', 'status', ['credits', 'num'], ['loaded', 'num'], ['refused', 'num'], ['differences', 'num']], imports.map(importRow)));
    ctx.refreshed();
    // Refreshed while an import on it runs.
    if (imports.some((i) => RUNNING.includes(i.status))) timer = setTimeout(() => load().catch(ctx.fail), LIST_REFRESH_MS);
  };
  await load();
  ctx.loaded();
  return () => clearTimeout(timer);
}

function summary(imp) {
  const figure = (name, value, text) => h('dd', { 'data-figure': name, 'data-value': String(value), text });
  const c = imp.credits;
  const items = [
    ['credits done', figure('import-done', imp.progress.creditsDone, count(imp.progress.creditsDone) + ' of ' + count(imp.progress.creditsTotal))],
    ['loaded', figure('import-loaded', c.loaded, count(c.loaded))],
    ['unchanged', figure('import-unchanged', c.unchanged, count(c.unchanged))],
    ['refused', figure('import-refused', c.refused, count(c.refused))],
    ['with differences', figure('import-with-differences', c.withDifferences, count(c.withDifferences))],
    ['payments applied', figure('import-payments', imp.payments.applied, count(imp.payments.applied))],
    ['amount applied', figure('import-amount', imp.payments.amountApplied, money(imp.payments.amountApplied))],
    ['running for', figure('import-duration', imp.durationsMs.running, duration(imp.durationsMs.running))],
  ];
  const link = imp.temporalUiUrl ? h('a', { href: imp.temporalUiUrl, target: '_blank', rel: 'noopener noreferrer', text: 'Temporal UI' }) : null;
  const files = count(imp.files.credits.rows) + ' credits, ' + count(imp.files.payments.rows) + ' payments';
  return [
    h('h2', {}, [imp.mode === 'DRY_RUN' ? 'Dry run of an import ' : 'Import ', statusPill(imp.status, 'import-status')]),
    h('p', { class: 'empty' }, ['import ', h('span', { class: 'mono', text: imp.id }), ' · ' + files + ' · received ' + when(imp.createdAt) + ' · by ' + (imp.actor || '—') + ' · ', link]),
    progressBar(imp.progress.creditsDone, imp.progress.creditsTotal),
    h('dl', { class: 'stats wide' }, items.map(([label, dd]) => h('div', {}, [h('dt', { text: label }), dd]))),
  ];
}

/** One difference code's differences (or all), a page at a time (keyset cursor), each linking to its credit. */
function differencesOf(imp, code, ctx, box) {
  const cursors = [null];
  const q = '/v1/imports/' + imp.id + '/differences?limit=' + DIFFERENCES_PAGE + (code ? '&code=' + code : '');
  const show = async () => {
    const cursor = cursors[cursors.length - 1];
    const page = (await ctx.api(q + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''))).body;
    const credit = (d) => h('a', { href: '#/credits/' + encodeURIComponent(d.creditId || d.legacyCreditId), class: 'mono', 'data-col': 'credit', text: d.legacyCreditId });
    const rows = page.differences.map((d) => h('tr', { 'data-legacy-credit-id': d.legacyCreditId, 'data-code': d.code }, [
      h('td', {}, [credit(d)]),
      h('td', { class: 'mono', text: d.code }),
      h('td', { text: d.field || '—' }),
      h('td', { class: 'num', text: d.legacyValue == null ? '—' : d.legacyValue }),
      h('td', { class: 'num', text: d.abonoValue == null ? '—' : d.abonoValue }),
      h('td', { class: 'num', 'data-col': 'amount', 'data-value': d.amountAtStake || '0', text: d.amountAtStake == null ? '—' : money(d.amountAtStake) }),
      h('td', { class: 'mono', text: d.paymentLegacyId || '' }),
      h('td', { text: d.detail || '' }),
    ]));
    const prev = h('button', { id: 'differences-prev', type: 'button', class: 'small', text: '← previous', disabled: cursors.length === 1, onclick: () => (cursors.pop(), show().catch(ctx.fail)) });
    const next = h('button', { id: 'differences-next', type: 'button', class: 'small', text: 'next →', disabled: page.next === null, onclick: () => (cursors.push(page.next), show().catch(ctx.fail)) });
    const download = h('button', {
      id: 'download-differences',
      type: 'button',
      text: 'Download ' + (code || 'all differences') + ' (CSV)',
      onclick: () => ctx.download(q.replace(/limit=\d+/, 'format=csv'), 'import-' + imp.id + '-' + (code || 'all').toLowerCase() + '.csv').catch(ctx.fail),
    });
    const heading = h('h3', { id: 'differences-code', 'data-value': code || '', text: code ? 'Differences ' + code : 'Every difference' });
    const list = page.differences.length ? table({ id: 'differences-table' }, ['legacy credit', 'code', 'field', ['legacy', 'num'], ['abono', 'num'], ['at stake', 'num'], 'legacy payment', 'detail'], rows) : h('p', { class: 'empty', text: 'None.' });
    replace(box, heading, download, list, h('p', { class: 'pager' }, [prev, ' page ' + cursors.length + ' ', next]));
  };
  return show();
}

/** The differences by code: every code, with its count, credits and amount at stake; a click pages its differences. */
function reconciliation(imp, ctx) {
  const box = h('div', { id: 'differences' });
  const open = (code) => differencesOf(imp, code, ctx, box).catch(ctx.fail);
  const rows = Object.entries(imp.differences).map(([code, d]) => h('tr', { 'data-code': code, 'data-count': String(d.count) }, [
    h('td', {}, [d.count ? h('a', { href: '#/imports/' + imp.id, class: 'mono code-link', text: code, onclick: (ev) => (ev.preventDefault(), open(code)) }) : h('span', { class: 'mono empty', text: code })]),
    h('td', { class: 'num', 'data-col': 'count', text: count(d.count) }),
    h('td', { class: 'num', 'data-col': 'credits', text: count(d.credits) }),
    h('td', { class: 'num', 'data-col': 'amount', 'data-value': d.amountAtStake, text: money(d.amountAtStake) }),
  ]));
  const all = h('button', { id: 'differences-all', type: 'button', class: 'small', text: 'Every difference', onclick: () => open(null) });
  return h('section', { class: 'panel' }, [
    h('h2', {}, ['Differences by code ', h('small', { text: 'where the old system’s figures differ from abono’s; click a code for its credits' })]),
    table({ id: 'codes-table' }, ['code', ['differences', 'num'], ['credits', 'num'], ['amount at stake', 'num']], rows),
    all,
    box,
  ]);
}

async function renderImport(root, id, ctx) {
  let timer = null;
  let stopped = false;
  const head = h('section', { class: 'panel', id: 'import' });
  root.append(h('p', { class: 'page-head' }, [h('a', { href: '#/imports', text: '← imports' })]), head);
  const load = async () => {
    const imp = (await ctx.api('/v1/imports/' + encodeURIComponent(id))).body;
    if (stopped) return;
    replace(head, ...summary(imp));
    ctx.refreshed();
    // The differences once the import has ended: they are final then.
    if (RUNNING.includes(imp.status)) timer = setTimeout(() => load().catch(ctx.fail), FOLLOW_MS);
    else root.appendChild(reconciliation(imp, ctx));
  };
  await load();
  ctx.loaded();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

export default {
  route: 'imports',
  title: 'Imports',
  render(root, params, ctx) {
    return params[0] ? renderImport(root, params[0], ctx) : renderList(root, ctx);
  },
};
